using System.Globalization;
using System.Text;

namespace EmgBiofeedback.EndToEnd.Tests;

/// <summary>The run's table (docs/reliability.md takes it as written) and the details below it.</summary>
public static class Report
{
    public static string Markdown(E2eRun run)
    {
        var md = new StringBuilder();
        string mode = run.Long ? $"long mode, EMG_E2E_MINUTES={run.Minutes.ToString(CultureInfo.InvariantCulture)}"
            : run.SoakMinutes > 0 ? $"soak mode, EMG_E2E_SOAK_MINUTES={run.SoakMinutes.ToString(CultureInfo.InvariantCulture)}" : "short mode";
        TimeSpan length = run.Phases.Count > 0 ? run.Phases[^1].End - run.Phases[0].Start : TimeSpan.Zero;
        md.Append(CultureInfo.InvariantCulture, $"Run of {DateTime.UtcNow:yyyy-MM-dd} ({mode}): {length.TotalMinutes:0.0} minutes of faults, one board (8 ch x 1000 Hz), {E2eRun.SubscriberCount} subscribers, one patient view.\n\n");
        md.Append("| fault | injected, for how long | samples produced | recorded | in history (frames) | delivered to each healthy client (frames) | lost, and the counter that reported it | pass |\n");
        md.Append("|---|---|---|---|---|---|---|---|\n");
        foreach (PhaseResult p in run.Phases)
        {
            md.Append(CultureInfo.InvariantCulture, $"| {p.Name} | {p.Injected} | {p.Produced} | {p.Recorded} | {p.HistoryPoints} of {p.ExpectedFrames} | {Delivered(p)} | {Lost(p)} | {(p.Problems.Count == 0 ? "yes" : "**NO**")} |\n");
        }
        md.Append(FullLoad(run));
        md.Append("\nPer phase, what else each part said:\n\n");
        foreach (PhaseResult p in run.Phases)
        {
            md.Append(CultureInfo.InvariantCulture, $"- **{p.Name}**: board sequences [{p.FirstSequence}, {p.EndSequence}); page: {p.BrowserSamples} looks, stale-as-live {p.BrowserStale}, {(p.Key == "clock" ? "latency not measured (the service's clock was stepped, the page's was not)" : $"frame to page p50 {p.BrowserArrivedP50:0} ms / p99 {p.BrowserArrivedP99:0} ms, to pixel p50 {p.BrowserDrawnP50:0} ms / p99 {p.BrowserDrawnP99:0} ms")}; station lag max {p.MaxDeliveryLagMs:0} ms, largest burst {p.MaxBurst} frames; line dropped {p.LineDroppedBytes} bytes; service memory {(p.ServerMemoryGrowthBytes >= 0 ? "+" : "")}{p.ServerMemoryGrowthBytes >> 20} MiB ({p.ServerMemoryAtStart >> 20} -> {p.ServerMemoryAtEnd >> 20}); service CPU {(double.IsNaN(p.ServerCpuCores) ? "not measured (restarted)" : p.ServerCpuCores.ToString("0.00", CultureInfo.InvariantCulture) + " cores")}; serial byte to gRPC client {(p.Key == "clock" || p.SerialToClient.Count > 0 ? p.SerialToClient.ToString() : "none measured")}; the service's own arrival to stream (GetStatus every 5 s) p99 up to {p.ServiceArrivalToStreamP99Ms:0.0} ms, max {p.ServiceArrivalToStreamMaxMs:0.0} ms; the harness process stalled {p.HarnessPauses} times over 50 ms, at most {p.HarnessMaxPauseMs:0} ms (its garbage collections {p.HarnessGcPauseMs:0} ms), its thread pool {p.HarnessPoolDelays} times, at most {p.HarnessMaxPoolDelayMs:0} ms");
            foreach (string f in p.Facts)
            {
                md.Append("; ").Append(f);
            }
            foreach (string problem in p.Problems)
            {
                md.Append("\n  - FAILED: ").Append(problem);
            }
            md.Append('\n');
        }
        if (run.Malformed.Count > 0)
        {
            md.Append("\nMalformed and oversized requests, and what the service answered:\n\n| request | expected | answered |\n|---|---|---|\n");
            foreach (MalformedOutcome o in run.Malformed)
            {
                md.Append(CultureInfo.InvariantCulture, $"| {o.Case} | {o.Expected} | {o.Observed} |\n");
            }
        }
        md.Append("\nRecordings:\n\n");
        foreach (RecordingFacts f in Accounting.Recordings)
        {
            md.Append(CultureInfo.InvariantCulture, $"- `{Path.GetFileName(f.Path)}`: board samples from {f.FirstSequence}, {f.RecordsComplete} records, {f.RecordedSamples} samples recorded, {f.GapSamples} filled as gaps, {f.WrongValues} wrong; notes: {string.Join("; ", f.Notes.Take(12))}{(f.Notes.Count > 12 ? $"; ... ({f.Notes.Count} in all)" : "")}{(f.Warnings.Count > 0 ? "; reader: " + string.Join("; ", f.Warnings) : "")}\n");
        }
        return md.ToString();
    }

    /// <summary>
    /// The station under the full load (board, recording, history, protocol, 100 subscribers, the patient view) without a
    /// fault, and its memory over the whole run: docs/performance.md takes these.
    /// </summary>
    private static string FullLoad(E2eRun run)
    {
        PhaseResult? quiet = run.Phases.FirstOrDefault(p => p.Key == "baseline");
        var md = new StringBuilder("\nUnder the full load");
        if (quiet is not null)
        {
            md.Append(CultureInfo.InvariantCulture, $" without a fault ({(quiet.End - quiet.Start).TotalSeconds:0} s): serial byte to gRPC client {quiet.SerialToClient}; a frame's computation to the patient view's pixel p50 {quiet.BrowserDrawnP50:0} / p99 {quiet.BrowserDrawnP99:0} ms (frame to page p50 {quiet.BrowserArrivedP50:0} / p99 {quiet.BrowserArrivedP99:0} ms); the service's own arrival to stream p99 up to {quiet.ServiceArrivalToStreamP99Ms:0.0} ms, max {quiet.ServiceArrivalToStreamMaxMs:0.0} ms; the harness process stalled {quiet.HarnessPauses} times over 50 ms, at most {quiet.HarnessMaxPauseMs:0} ms, its thread pool {quiet.HarnessPoolDelays} times, at most {quiet.HarnessMaxPoolDelayMs:0} ms; service CPU {quiet.ServerCpuCores:0.00} cores");
        }
        PhaseResult[] sameProcess = run.Phases.TakeWhile(p => p.Key != "kill").ToArray();
        if (sameProcess.Length > 0)
        {
            PhaseResult first = sameProcess[0], last = sameProcess[^1];
            double cores = sameProcess.Where(p => !double.IsNaN(p.ServerCpuCores)).Sum(p => p.ServerCpuCores * (p.End - p.Start).TotalSeconds)
                / sameProcess.Where(p => !double.IsNaN(p.ServerCpuCores)).Sum(p => (p.End - p.Start).TotalSeconds);
            md.Append(CultureInfo.InvariantCulture, $". Service memory {first.ServerMemoryAtStart >> 20} MiB at the start of the faults, {last.ServerMemoryAtEnd >> 20} MiB after {(last.End - first.Start).TotalMinutes:0.0} minutes of them (before the kill); service CPU over those minutes {cores:0.00} cores");
        }
        md.Append(".\n");
        if (run.SoakMemory.Count >= 4)
        {
            (double Seconds, long Bytes)[] m = [.. run.SoakMemory];
            (double Seconds, long Bytes)[] starts = [.. run.SoakSessionStarts];
            md.Append(CultureInfo.InvariantCulture,
                $"\nSoak ({run.SoakMinutes:0.#} minutes without a fault, {starts.Length} sessions of {run.SoakSessionMinutes:0.#} minutes one after another, memory read every 30 s, memory.csv): service memory {m[0].Bytes >> 20} MiB at the start, {m.Max(x => x.Bytes) >> 20} MiB at most, {m[^1].Bytes >> 20} MiB at the end; as each session began: {string.Join(", ", starts.Select(x => $"{x.Bytes >> 20}"))} MiB");
            if (starts.Length >= 3)
            {
                // Flat or not: the first minutes hold start-up (JIT tiers, pools and the GC's budgets filling, measured:
                // about 10 minutes); the second half of the sessions, from the start of the middle one to the last's.
                (double Seconds, long Bytes) from = starts[starts.Length / 2], to = starts[^1];
                double perHour = (to.Bytes - from.Bytes) / (double)(1 << 20) / ((to.Seconds - from.Seconds) / 3600);
                md.Append(CultureInfo.InvariantCulture, $" ({perHour:+0.0;-0.0;0} MiB per hour from session {starts.Length / 2 + 1}'s start to the last's)");
            }
            md.Append(".\n");
        }
        return md.ToString();
    }

    private static string Delivered(PhaseResult p)
    {
        string s = p.HealthyMinFrames == p.HealthyMaxFrames ? $"{p.HealthyMinFrames}" : $"{p.HealthyMinFrames}-{p.HealthyMaxFrames}";
        s += p.HealthyMissed == 0 ? ", none missed" : $", {p.HealthyMissed} missed in all by {p.SubscribersMissing} clients (each told by missed_before; the station fell {(double.IsNaN(p.MaxDeliveryLagMs) ? "?" : p.MaxDeliveryLagMs.ToString("0", CultureInfo.InvariantCulture))} ms behind, bursts of {p.MaxBurst} frames)";
        if (p.MissedReconnecting > 0)
        {
            s += $", {p.MissedReconnecting / Math.Max(1, E2eRun.SubscriberCount)} each while reconnecting (their new stream's first sequence number)";
        }
        return s;
    }

    private static string Lost(PhaseResult p)
    {
        var parts = new List<string>();
        long lost = p.Produced - p.Recorded;
        if (lost == 0)
        {
            parts.Add("0");
        }
        else
        {
            if (p.RecordedAsGap > 0)
            {
                parts.Add($"{p.RecordedAsGap} samples: `lost_frames` +{p.Delta(c => c.LostFrames)} in {p.Delta(c => c.Gaps)} gaps, each a gap note in the recording");
            }
            if (p.NotInRecording > 0)
            {
                parts.Add(p.Key switch
                {
                    "disk-full" => $"{p.NotInRecording} samples not recorded (disk full): the recorder's stop event and count",
                    "kill" => $"{p.NotInRecording} samples not recorded: the last unflushed second and the {(p.NotInRecording > 0 ? "time the service was dead" : "")} (no service to count them; the harness counts them from the board's sequence numbers)",
                    _ => $"{p.NotInRecording} samples in no recording and no gap note (UNCOUNTED)",
                });
            }
        }
        var counters = new List<string>();
        void Add(string name, long value)
        {
            if (value != 0)
            {
                counters.Add($"{name} +{value}");
            }
        }
        Add("crc_errors", p.Delta(c => c.CrcErrors));
        Add("discarded_bytes", p.Delta(c => c.DiscardedBytes));
        Add("resyncs", p.Delta(c => c.Resyncs));
        Add("malformed_frames", p.Delta(c => c.MalformedFrames));
        Add("duplicates", p.Delta(c => c.Duplicates));
        Add("reconnects", p.Delta(c => c.Reconnects));
        Add("dropped_subscriber_frames", p.Delta(c => c.DroppedSubscriberFrames));
        if (p.After?.History is { } h && p.Before?.History is { } h0)
        {
            Add("history points_dropped", (long)(h.PointsDropped - h0.PointsDropped));
        }
        if (p.LostByHistoryServer > 0)
        {
            parts.Add($"history: {p.LostByHistoryServer} frames the server acknowledged (HTTP 204) and lost when killed (victoria-metrics keeps its last seconds in memory; no station counter can see it; `emg backfill` of the recording restores them)");
        }
        if (p.HistoryMissing > 0)
        {
            parts.Add($"history: {p.HistoryMissing} frames missing (UNCOUNTED)");
        }
        string s = string.Join("; ", parts);
        return counters.Count == 0 ? s : $"{s} ({string.Join(", ", counters)})";
    }
}
