using EmgBiofeedback.Acquisition;
using EmgBiofeedback.Dsp;
using EmgBiofeedback.Sessions;

namespace EmgBiofeedback.Pipeline;

/// <summary>One muscle at one output instant.</summary>
public readonly record struct MuscleActivation(
    int Channel,
    string Label,
    float RmsMicrovolts,
    float? MvcPercent,
    TargetState Target,
    SignalQualityFlags Quality,
    bool Valid)
{
    /// <summary>The muscle's target (direction, trip and release levels), when one is set.</summary>
    public TargetSpec? TargetSpec { get; init; }
}

/// <summary>
/// Every muscle at one output instant: built once per output tick (50 Hz by default) and shared, read-only,
/// by every subscriber.
/// </summary>
public sealed class ActivationFrame
{
    private object? _wireForm;

    public required ulong Sequence { get; init; }

    /// <summary>The last sample instant the envelope covers, on the acquisition's timeline.</summary>
    public required long SampleIndex { get; init; }

    public required double SampleTimeSeconds { get; init; }

    /// <summary>Wall-clock time of the computation.</summary>
    public required DateTimeOffset ComputedAt { get; init; }

    /// <summary>Monotonic timestamp of the computation (<see cref="TimeProvider.GetTimestamp"/>), for delivery latency.</summary>
    public required long ComputedTimestamp { get; init; }

    /// <summary>
    /// Monotonic timestamp (<see cref="TimeProvider.GetTimestamp"/>) at which the bytes carrying the frame's last sample
    /// reached the host (the serial port's read, the simulated board's send): where the service's latency starts.
    /// 0 when unknown.
    /// </summary>
    public long ArrivalTimestamp { get; init; }

    public required MuscleActivation[] Muscles { get; init; }

    /// <summary>What produced the samples: a patient's board, the simulated board, or a replay.</summary>
    public SourceKind Source { get; init; }

    /// <summary>
    /// The API layer's encoded form of this frame, built by the first subscriber that needs it and reused by
    /// all others, so a frame is converted once per tick rather than once per subscriber.
    /// </summary>
    public T GetWireForm<T>(Func<ActivationFrame, T> build)
        where T : class
    {
        if (_wireForm is T cached)
        {
            return cached;
        }
        T built = build(this);
        return Interlocked.CompareExchange(ref _wireForm, built, null) as T ?? built;
    }
}

/// <summary>About 20 ms of signal from every channel, for detailed trace views.</summary>
public sealed class WaveformBlock
{
    public required ulong Sequence { get; init; }
    public required long FirstSampleIndex { get; init; }
    public required int SampleRateHz { get; init; }
    public required int Channels { get; init; }
    public required int Frames { get; init; }

    /// <summary>Band-passed and notched µV, frame-major (one value per channel per instant).</summary>
    public required float[] Filtered { get; init; }

    /// <summary>Counts converted to µV, unfiltered, frame-major.</summary>
    public required float[] Raw { get; init; }
}

/// <summary>Something that happened, for the event stream.</summary>
public sealed record LiveEvent(ulong Sequence, StationEventKind Kind, DateTimeOffset Time, string Message)
{
    public long LostSamples { get; init; }
    public bool Estimated { get; init; }
    public long SampleIndex { get; init; }
    public string Label { get; init; } = "";

    /// <summary>A clinical notice's details (protocol phase, calibration prompt or result), when it is one.</summary>
    public ClinicalNotice? Clinical { get; init; }
}
