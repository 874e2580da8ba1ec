namespace EmgBiofeedback.Acquisition;

/// <summary>
/// What produced the samples: a patient's board on a serial port, the built-in simulated board, or a
/// recording replayed through the live chain. Carried with every activation frame and in the status, so
/// simulated or replayed data can never pass for a patient's live data.
/// </summary>
/// <remarks>
/// The host decides it from the link the acquisition loop reads (the type of the source, not a name the
/// board reports): a serial port is <see cref="SerialBoard"/>, the simulated board
/// <see cref="SimulatedBoard"/>, a recording <see cref="Replay"/>.
/// </remarks>
public enum SourceKind
{
    /// <summary>Not known (nothing has connected yet); never claimed for samples.</summary>
    Unknown,
    SerialBoard,
    SimulatedBoard,
    Replay,
}
