using System.IO.Pipelines;
using EmgBiofeedback.Protocol;

namespace EmgBiofeedback.Acquisition;

/// <summary>
/// A way to reach a board (a serial port, the built-in simulated board). Every source has the same
/// lifecycle, so nothing downstream treats simulation as a special case.
/// </summary>
public interface IBoardLink
{
    /// <summary>What the link is, for logs and status (e.g. "serial /dev/ttyACM0 @ 500000").</summary>
    string Description { get; }

    /// <summary>What kind of source it is, by what it reads (never by what a board calls itself).</summary>
    SourceKind Kind { get; }

    /// <summary>
    /// Changes when the link is switched to another source (board to replay and back): the acquisition loop compares
    /// it on every connect and treats a change as a new stream (sequence numbers start afresh). 0 for a fixed link.
    /// </summary>
    long SourceGeneration => 0;

    /// <summary>Opens the link. Throws <see cref="IOException"/> (or a subclass) while the device is absent.</summary>
    ValueTask<IBoardConnection> ConnectAsync(CancellationToken cancellationToken);
}

/// <summary>One open connection: bytes from the board, and a way to send it commands.</summary>
public interface IBoardConnection : IAsyncDisposable
{
    /// <summary>
    /// The board's bytes. Completes (possibly with an exception) when the device goes away; the reader
    /// owns nothing else of the connection.
    /// </summary>
    PipeReader Input { get; }

    /// <summary>Sends one encoded command frame.</summary>
    ValueTask SendAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken);

    /// <summary>
    /// What the counts of this connection mean, per channel, when the source knows it (a replayed recording carries its
    /// own calibration); null for a board, whose counts the station converts with its configured sensor gain. The
    /// acquisition loop attaches it to the <see cref="BoardInfo"/> it hands the sinks.
    /// </summary>
    IReadOnlyList<ChannelScale>? Scales => null;

    /// <summary>The kind of source this connection reads when it differs from its link's (a switchable link's
    /// connection is to the source it was switched to when it opened); null: the link's.</summary>
    SourceKind? Kind => null;

    /// <summary>
    /// When the connection's bytes arrived, recorded by whatever reads them from the device (null: the source does not
    /// say, and the acquisition loop takes the moment it read them from <see cref="Input"/>).
    /// </summary>
    ByteArrivals? Arrivals => null;
}
