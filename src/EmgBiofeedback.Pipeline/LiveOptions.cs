using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace EmgBiofeedback.Pipeline;

/// <summary>Configuration section "Live": how the live streams are named and buffered.</summary>
public sealed class LiveOptions
{
    public const string SectionName = "Live";

    /// <summary>
    /// Channel names in channel order (the station's montage, e.g. "SCM L"); channels past the list are
    /// "CH n". Empty: the simulated board's muscles, or CH 1..n for a real board.
    /// </summary>
    public List<string> ChannelLabels { get; set; } = [];

    /// <summary>
    /// Frames a subscriber may fall behind by before its oldest are dropped. Small on purpose: a reader
    /// that resumes after a stall should see the present, not seconds of stale activation
    /// (8 frames = 160 ms at 50 Hz).
    /// </summary>
    [Range(1, 1024)]
    public int SubscriberQueueFrames { get; set; } = 8;

    /// <summary>
    /// Encode each activation frame once per tick and write the shared bytes to every subscriber, with its own
    /// missed_before and channel selection (true, the default); false serialises the frame once per subscriber, as
    /// grpc-dotnet's generated marshaller does: the wire is the same either way, kept to measure the difference
    /// (docs/performance.md, gRPC fan-out).
    /// </summary>
    public bool SharedEncoding { get; set; } = true;

    /// <summary>
    /// With the shared encoding, write every StreamActivation stream from one loop per frame (the activation fan-out's
    /// delivery loop) straight into the stream's response body (true, the default); false gives each stream a queue and
    /// a task of its own that writes through grpc-dotnet. The wire is the same either way (docs/performance.md, gRPC
    /// fan-out).
    /// </summary>
    public bool WriteLoop { get; set; } = true;
}

[OptionsValidator]
public sealed partial class LiveOptionsValidator : IValidateOptions<LiveOptions>;
