using EmgBiofeedback.Contracts.V1;

namespace EmgBiofeedback.EndToEnd.Tests;

/// <summary>A latency's distribution over a phase, ms.</summary>
public readonly record struct LatencyFigures(int Count, double P50, double P99, double P999, double Max)
{
    public static LatencyFigures None => new(0, double.NaN, double.NaN, double.NaN, double.NaN);

    public override string ToString() => Count == 0 ? "none measured"
        : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"p50 {P50:0.0} / p99 {P99:0.0} / p99.9 {P999:0.0} / max {Max:0} ms ({Count} frames)");
}

/// <summary>One phase of the run (a fault, or none): its window, what each part saw, and the pass rule's verdict.</summary>
public sealed class PhaseResult(string key, string name, string injected)
{
    /// <summary>A short key the tests name the phase by.</summary>
    public string Key { get; } = key;

    public string Name { get; } = name;

    /// <summary>What was injected, and for how long (filled in as it runs).</summary>
    public string Injected { get; set; } = injected;

    public DateTimeOffset Start { get; set; }
    public DateTimeOffset End { get; set; }

    /// <summary>The board's sequence numbers of the phase: [FirstSequence, EndSequence).</summary>
    public long FirstSequence { get; set; }
    public long EndSequence { get; set; }

    public Status? Before { get; set; }
    public Status? After { get; set; }

    // Filled by the accounting after the run.
    public long Produced => EndSequence - FirstSequence;
    public long Recorded { get; set; }
    public long RecordedAsGap { get; set; }
    public long NotInRecording { get; set; }
    public long WrongValues { get; set; }
    public long HistoryPoints { get; set; }
    public long ExpectedFrames { get; set; }
    public long HealthyMinFrames { get; set; }
    public long HealthyMaxFrames { get; set; }
    public long HealthyMissed { get; set; }
    public long HealthyUncounted { get; set; }
    public long MissedReconnecting { get; set; }
    public long StreamFailures { get; set; }

    /// <summary>Frames the reference subscriber (0) did not get: history may hold these beyond its frames.</summary>
    public long ReferenceMissed { get; set; }

    /// <summary>Subscribers that missed at least one frame.</summary>
    public int SubscribersMissing { get; set; }

    /// <summary>Of those, subscribers that missed frames though neither they nor the station fell more than their queue
    /// (160 ms) behind: a loss the drop-oldest policy does not explain.</summary>
    public int SubscribersMissingWhileKeepingUp { get; set; }

    /// <summary>Board sequence numbers at which something was done to the history server (its kills), for the rule.</summary>
    public List<long> HistoryKills { get; } = [];

    /// <summary>Frames missing from history that the history server had acknowledged before it was killed.</summary>
    public long LostByHistoryServer { get; set; }

    /// <summary>Frames missing from history otherwise: a loss of the station.</summary>
    public long HistoryMissing { get; set; }

    /// <summary>The longest a frame took from its computation to the reference subscriber, ms (NaN in the clock phase).</summary>
    public double MaxDeliveryLagMs { get; set; } = double.NaN;

    /// <summary>The most frames the pipeline computed within 30 ms (2 when it runs smoothly: one per 20 ms): a burst after
    /// the station stalled.</summary>
    public int MaxBurst { get; set; }

    /// <summary>True when the station fell behind by more than a subscriber's queue (8 frames, 160 ms): the drop-oldest
    /// policy then drops frames for every subscriber, counted in missed_before (docs/api.md).</summary>
    public bool StationStalled => MaxBurst > 8 || MaxDeliveryLagMs > 160;
    public long BrowserSamples { get; set; }
    public long BrowserStale { get; set; }
    public long BrowserLateFrames { get; set; }
    public double BrowserArrivedP50 { get; set; } = double.NaN;
    public double BrowserArrivedP99 { get; set; } = double.NaN;
    public double BrowserDrawnP50 { get; set; } = double.NaN;
    public double BrowserDrawnP99 { get; set; } = double.NaN;
    public long ServerMemoryGrowthBytes { get; set; }

    /// <summary>The service's resident memory at the phase's start and end, bytes.</summary>
    public long ServerMemoryAtStart { get; set; }
    public long ServerMemoryAtEnd { get; set; }

    /// <summary>The service's CPU over the phase, in cores (CPU time over wall time; NaN when the service restarted).</summary>
    public double ServerCpuCores { get; set; } = double.NaN;

    /// <summary>From the serial line write of a frame's last sample to its receipt by a gRPC subscriber (every tenth), ms.</summary>
    public LatencyFigures SerialToClient { get; set; } = LatencyFigures.None;

    /// <summary>The service's own arrival-to-stream latency over the phase (GetStatus every 5 s): the largest window p99
    /// and max, ms (0: nothing read).</summary>
    public double ServiceArrivalToStreamP99Ms { get; set; }
    public double ServiceArrivalToStreamMaxMs { get; set; }

    /// <summary>The harness process's own stalls over the phase: the longest (ms), how many over 50 ms, and its garbage
    /// collections' pause time (ms). The subscribers and the serial relay run in it: a stall of it delays what they
    /// measure.</summary>
    public double HarnessMaxPauseMs { get; set; }
    public int HarnessPauses { get; set; }
    public double HarnessGcPauseMs { get; set; }

    /// <summary>The harness's thread pool over the phase: how many times a work item waited over 50 ms to run, and the
    /// longest wait (ms). Its subscribers' reads continue there.</summary>
    public int HarnessPoolDelays { get; set; }
    public double HarnessMaxPoolDelayMs { get; set; }

    /// <summary>Bytes of the board's stream the harness's line dropped (device gone, nobody reading).</summary>
    public long LineDroppedBytes { get; set; }

    /// <summary>Facts of this phase worth a line in the report (counters, outcomes), in order.</summary>
    public List<string> Facts { get; } = [];

    /// <summary>Every way the phase broke its pass rule; empty: it passed.</summary>
    public List<string> Problems { get; } = [];

    public long Delta(Func<Counters, ulong> counter) =>
        Before is null || After is null ? 0 : (long)counter(After.Counters) - (long)counter(Before.Counters);

    public void Check(bool ok, string problem)
    {
        if (!ok)
        {
            Problems.Add(problem);
        }
    }
}
