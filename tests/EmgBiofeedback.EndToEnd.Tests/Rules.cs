using EmgBiofeedback.Contracts.V1;

namespace EmgBiofeedback.EndToEnd.Tests;

/// <summary>
/// Each phase's pass rule (docs/reliability.md). Common to all: no recorded sample differs from what the board sent
/// (nothing invented), every sample the board produced is recorded or counted as lost by the service, history holds a
/// point for every frame the pipeline published (the spool makes every history loss avoidable), healthy subscribers
/// lose nothing, the page never shows a value as live without a fresh frame, the service's memory stays bounded.
/// Then what the fault itself must show.
/// </summary>
public static class Rules
{
    public static void Check(E2eRun run, PhaseResult p)
    {
        long lostCounter = p.Delta(c => c.LostFrames);
        p.Check(p.WrongValues == 0, $"{p.WrongValues} recorded samples differ from what the board sent (or were recorded twice)");
        if (p.Key is not ("disk-full" or "kill"))
        {
            p.Check(p.NotInRecording == 0, $"{p.NotInRecording} samples the board produced are neither in the recording nor in a gap it notes");
            p.Check(p.Produced - p.Recorded == p.RecordedAsGap, $"produced {p.Produced} - recorded {p.Recorded} != the recording's gap notes {p.RecordedAsGap}");
            p.Check(p.RecordedAsGap == lostCounter, $"the recording's gaps ({p.RecordedAsGap} samples) and the acquisition's lost_frames counter (+{lostCounter}) disagree");
        }
        if (p.Key != "kill")
        {
            // Every frame the reference subscriber received is in history (it may have missed a few that history has).
            p.Check(p.HistoryMissing == 0, $"history lacks {p.HistoryMissing} of the {p.ExpectedFrames} frames the reference subscriber received");
            p.Check(p.HistoryPoints - (p.ExpectedFrames - p.HistoryMissing - p.LostByHistoryServer) <= p.ReferenceMissed + 2,
                $"history holds {p.HistoryPoints} points for {p.ExpectedFrames} frames: more than the frames the reference subscriber missed");
            // A healthy subscriber loses nothing, unless the station itself fell behind by more than the subscriber queue
            // (drop-oldest by design, docs/api.md); then what it lost is counted in missed_before. Never uncounted.
            p.Check(p.HealthyUncounted == 0, $"healthy subscribers lost {p.HealthyUncounted} frames that missed_before did not report");
            p.Check(p.SubscribersMissingWhileKeepingUp == 0, $"{p.SubscribersMissingWhileKeepingUp} healthy subscribers lost frames (reported by missed_before) though neither they nor the station fell more than 160 ms behind (burst {p.MaxBurst})");
            p.Check(p.StreamFailures == 0, $"{p.StreamFailures} healthy subscriber streams failed");
            p.Check(p.HealthyMinFrames > 0 && (p.HealthyMissed > 0 || p.HealthyMaxFrames - p.HealthyMinFrames <= 2),
                $"healthy subscribers received between {p.HealthyMinFrames} and {p.HealthyMaxFrames} frames");
        }
        if (p.Key is not ("unplug" or "kill"))
        {
            p.Check(p.LineDroppedBytes == 0, $"the harness's serial line dropped {p.LineDroppedBytes} bytes of the board's stream (nobody read the line)");
        }
        p.Check(p.BrowserSamples > 0, "the page probe reported nothing in this phase");
        p.Check(p.BrowserStale == 0, $"the patient view showed a value as live {p.BrowserStale} times without a frame for more than 1 s");
        p.Check(p.BrowserLateFrames == 0, $"the patient view showed a value as live {p.BrowserLateFrames} times from a frame computed more than 2 s before");
        p.Check(p.ServerMemoryGrowthBytes < 100L << 20, $"the service's memory grew by {p.ServerMemoryGrowthBytes >> 20} MiB");
        if (p.After?.History is { } h && p.Before?.History is { } h0)
        {
            p.Check(h.PointsDropped == h0.PointsDropped, $"history dropped {h.PointsDropped - h0.PointsDropped} points");
        }

        switch (E2eRun.IsNoFault(p.Key) ? "baseline" : p.Key)
        {
            case "baseline":
                p.Check(p.Produced > 0 && p.Recorded == p.Produced, $"baseline: produced {p.Produced}, recorded {p.Recorded}");
                p.Check(lostCounter == 0 && p.Delta(c => c.CrcErrors) == 0 && p.Delta(c => c.Reconnects) == 0, "baseline: a loss counter moved without a fault");
                p.Check(p.SerialToClient.Count >= p.ExpectedFrames * (E2eRun.SubscriberCount / Subscribers.ReceiptEvery) * 9 / 10,
                    $"baseline: the serial-byte-to-client latency was measured for {p.SerialToClient.Count} frames, fewer than nine in ten of those the sampled subscribers received");
                break;
            case "garbage":
                p.Check(p.Delta(c => c.CrcErrors) + p.Delta(c => c.DiscardedBytes) > 0, "garbage: the decoder saw no bad bytes");
                p.Check(p.Delta(c => c.Reconnects) == 0, "garbage: the link was reconnected");
                p.Check(p.Delta(c => c.Duplicates) == 0, "garbage: frames counted as duplicates (a false frame passed the CRC?)");
                break;
            case "unplug":
                p.Check(p.Delta(c => c.Reconnects) >= 1, "unplug: no reconnect counted");
                p.Check(lostCounter > 0, "unplug: the samples sent while the device was gone were not counted as lost");
                break;
            case "history-killed":
                p.Check(p.LostByHistoryServer <= 15_000 / 20 * Math.Max(1, p.HistoryKills.Count), "history-killed: accounting");
                goto case "history-hung";
            case "history-hung":
                p.Check(p.After?.History?.State == "Delivering", $"{p.Key}: history is {p.After?.History?.State} after the server came back");
                break;
            case "stalled-client":
                p.Check(p.Delta(c => c.DroppedSubscriberFrames) > 0, "stalled client: its dropped frames were not counted (dropped_subscriber_frames)");
                break;
            case "churn":
                p.Check(p.After?.ActivationSubscribers <= p.Before?.ActivationSubscribers, $"churn: {p.After?.ActivationSubscribers} activation subscribers after, {p.Before?.ActivationSubscribers} before");
                break;
            case "disk-full":
                p.Check(p.NotInRecording > 0, "disk full: the recorder recorded as if the disk were not full");
                p.Check(p.Produced == p.Recorded + p.RecordedAsGap + p.NotInRecording, "disk full: accounting");
                p.Check(lostCounter == 0 && p.Delta(c => c.Reconnects) == 0, $"disk full: the acquisition lost samples ({lostCounter}) or reconnected ({p.Delta(c => c.Reconnects)}): the full disk broke more than the recorder");
                CheckRecorderStopped(run, p);
                break;
            case "kill":
                CheckKill(run, p);
                break;
        }
    }

    private static void CheckRecorderStopped(E2eRun run, PhaseResult p)
    {
        string[] log = run.Station.ServerLog().Split('\n');
        string? stopped = log.FirstOrDefault(l => l.Contains("Recording", StringComparison.Ordinal) && l.Contains("STOPPED", StringComparison.Ordinal)
            && l.Contains("No space left on device", StringComparison.Ordinal));
        p.Check(stopped is not null, "disk full: no log line says the recording stopped and why");
        Event? e = run.Events.FirstOrDefault(e => e.Message.Contains("Recording", StringComparison.Ordinal) && e.Message.Contains("stopped: No space left on device", StringComparison.Ordinal));
        p.Check(e is not null, "disk full: no event on the event stream says the recording stopped and why");
        if (e is not null)
        {
            p.Facts.Add($"event {e.Kind}: \"{e.Message}\"");
        }
        // The count: the session's samples not recorded, said when it ended (the phase's and the few seconds to the stop).
        var ended = System.Text.RegularExpressions.Regex.Match(string.Join('\n', log), @"the session ended with (\d+) sample instants not recorded");
        long counted = ended.Success ? long.Parse(ended.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : -1;
        p.Facts.Add($"recorder: {counted} samples not recorded in the session (emg.recorder.samples_not_recorded; the status line says so too)");
        p.Check(counted >= p.NotInRecording && counted <= p.NotInRecording + 6000, $"disk full: the recorder counted {counted} samples not recorded; {p.NotInRecording} of the phase are in no recording");
        p.Check(log.Any(l => l.Contains("samples not recorded", StringComparison.Ordinal) && l.Contains("recorder STOPPED: No space left on device", StringComparison.Ordinal)),
            "disk full: the status line never said the recorder stopped and how much is not recorded");
    }

    private static void CheckKill(E2eRun run, PhaseResult p)
    {
        SessionRecord killed = run.Sessions.Single(s => s.KilledAt is not null);
        RecordingFacts? file = killed.Recording;
        p.Check(file is not null, "kill: the killed session's recording is missing or unreadable");
        if (file is null)
        {
            return;
        }
        p.Check(file.WrongValues == 0, $"kill: {file.WrongValues} samples of the killed recording differ from the board's");
        // Readable to its last flushed second: the file's complete records reach to at most one second before the kill.
        long lastRecorded = file.FirstSequence + file.Instants;
        long killedAt = run.StoppedDeadFrom;
        p.Facts.Add($"killed recording: {file.RecordsComplete} complete records, ends {(killedAt - lastRecorded) / 1000.0:0.00} s of board time before the kill");
        p.Check(killedAt - lastRecorded <= 2000, $"kill: the killed recording ends {killedAt - lastRecorded} samples before the kill (more than its last second)");
        p.Check(run.Sessions.Count(s => s.Lifetime == run.Lifetime) >= 1, "kill: no session after the restart");
        p.Check(p.MissedReconnecting > 0 || p.HealthyMissed == 0, "kill: accounting of the subscribers");
        p.Check(p.HealthyUncounted == 0, $"kill: {p.HealthyUncounted} frames lost by healthy subscribers without missed_before");
        // History of the killed session: every frame up to the kill, less at most what sat in the writer's queue (a few frames).
        long expectedBeforeKill = p.ExpectedFrames;
        p.Check(p.HistoryPoints >= expectedBeforeKill - 10, $"kill: history holds {p.HistoryPoints} points for the {expectedBeforeKill} frames the reference subscriber got");
    }
}
