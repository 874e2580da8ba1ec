using System.Diagnostics;
using System.Globalization;
using EmgBiofeedback.Acquisition.Tests;
using EmgBiofeedback.History;
using EmgBiofeedback.Recording;

namespace EmgBiofeedback.EndToEnd.Tests;

/// <summary>A recording of the run, tied to the board's sequence numbers.</summary>
public sealed record RecordingFacts(string Path, string SessionTag, DateTimeOffset Start, long FirstSequence, long Instants, long RecordsComplete,
    long RecordedSamples, long GapSamples, long WrongValues, IReadOnlyList<string> Warnings, IReadOnlyList<string> Notes);

/// <summary>
/// After the run: what the recordings hold (every sample checked against the value the firmware sent at its sequence
/// number), what history holds (each point placed on the board's timeline by its timestamp), what the reference
/// subscriber received, what every subscriber and the page saw, per phase; then each phase's pass rule.
/// </summary>
public static class Accounting
{
    private const int Rate = 1000;
    private const int Decimation = 20;

    public static List<RecordingFacts> Recordings { get; private set; } = [];

    public static void Run(E2eRun run)
    {
        Station station = run.Station;
        long baseSequence = station.Relay.FirstSequence;
        long endSequence = station.Relay.LatestSequence + 1;
        var recorded = new bool[endSequence - baseSequence];
        var gap = new bool[endSequence - baseSequence];
        var wrong = new bool[endSequence - baseSequence];
        IReadOnlyList<(DateTimeOffset Time, long Sequence)> timeline = station.Relay.Timeline;
        Recordings = ReadRecordings(run, baseSequence, recorded, gap, wrong, timeline);
        foreach (RecordingFacts f in Recordings.Where(f => f.Notes.Any(n => n.EndsWith(" annotations lost", StringComparison.Ordinal))))
        {
            // A clinical note missing from a recording: `emg summary` of the file no longer tells the session's story.
            PhaseResult phase = run.Phases.FirstOrDefault(p => f.FirstSequence < p.EndSequence) ?? run.Phases[^1];
            phase.Problems.Add($"{Path.GetFileName(f.Path)} lost annotations: {f.Notes.First(n => n.EndsWith(" annotations lost", StringComparison.Ordinal))}");
        }

        // Each lifetime of the service numbers samples from its first; its sessions tie that numbering to the board's.
        var delta = new Dictionary<int, long>();
        foreach (SessionRecord s in run.Sessions.Where(s => s.FirstIndex >= 0 && s.FirstSequence >= 0))
        {
            long d = s.FirstSequence - s.FirstIndex;
            if (delta.TryGetValue(s.Lifetime, out long known) && known != d)
            {
                run.Phases[0].Problems.Add($"the acquisition's sample index drifted from the board's sequence numbers in lifetime {s.Lifetime}: {known} then {d}");
            }
            delta[s.Lifetime] = d;
        }
        IReadOnlyList<ReceivedFrame> reference = run.Subscribers.Reference;
        var referenceSequences = reference
            .Where(f => delta.ContainsKey(f.Lifetime))
            .Select(f => f.SampleIndex + delta[f.Lifetime]).ToArray();

        // Serial byte to gRPC client: from the line write of a frame's last sample to its receipt by a sampled subscriber.
        var serialToClient = Enumerable.Range(0, run.Phases.Count).Select(_ => new List<double>()).ToArray();
        var latencyLog = new System.Text.StringBuilder("phase,subscriber,board_sequence,line_write_s,serial_to_client_ms\n");
        foreach (Receipt r in run.Subscribers.Receipts())
        {
            // Counted in the phase whose board sequences hold the frame's last sample (not the set-up before the first).
            if (r.Phase >= 0 && r.Phase < serialToClient.Length && delta.TryGetValue(r.Lifetime, out long d)
                && r.SampleIndex + d >= run.Phases[r.Phase].FirstSequence && r.SampleIndex + d < run.Phases[r.Phase].EndSequence
                && station.Relay.LineWriteTimestamp(r.SampleIndex + d) is var written and > 0)
            {
                double ms = Stopwatch.GetElapsedTime(written, r.ReceivedTimestamp).TotalMilliseconds;
                serialToClient[r.Phase].Add(ms);
                latencyLog.Append(CultureInfo.InvariantCulture, $"{r.Phase},{r.Subscriber},{r.SampleIndex + d},{Stopwatch.GetElapsedTime(run.StartedTimestamp, written).TotalSeconds:0.000},{ms:0.00}\n");
            }
        }

        File.WriteAllText(Path.Combine(run.ReportFolder, "serial-to-client.csv"), latencyLog.ToString());

        List<long> historySequences = HistorySequences(run, timeline, out List<string> historyProblems);
        foreach (string p in historyProblems)
        {
            run.Phase("clock").Problems.Add(p);
        }

        for (int i = 0; i < run.Phases.Count; i++)
        {
            PhaseResult phase = run.Phases[i];
            for (long q = phase.FirstSequence; q < phase.EndSequence; q++)
            {
                long k = q - baseSequence;
                if (k < 0 || k >= recorded.Length)
                {
                    continue;
                }
                if (recorded[k])
                {
                    phase.Recorded++;
                }
                else if (gap[k])
                {
                    phase.RecordedAsGap++;
                }
                else
                {
                    phase.NotInRecording++;
                }
                if (wrong[k])
                {
                    phase.WrongValues++;
                }
            }
            long[] expected = referenceSequences.Where(q => q >= phase.FirstSequence && q < phase.EndSequence).ToArray();
            long[] stored = historySequences.Where(q => q >= phase.FirstSequence && q < phase.EndSequence).ToArray();
            phase.ExpectedFrames = expected.Length;
            phase.HistoryPoints = stored.Length;
            {
                var storedSet = stored.ToHashSet();
                long[] absent = expected.Where(q => !storedSet.Contains(q)).ToArray();
                // victoria-metrics answers 204 and keeps the last seconds in memory: a SIGKILL loses them. Points the
                // station had delivered up to 15 s before a kill are the server's loss, not the station's.
                phase.LostByHistoryServer = absent.Count(q => phase.HistoryKills.Any(k => q <= k && q > k - 15_000));
                phase.HistoryMissing = absent.Length - phase.LostByHistoryServer;
            }
            if (expected.Length != stored.Length || phase.HistoryMissing > 0)
            {
                // Where they differ, as board sequence numbers (a frame's last sample), for the report.
                long[] missing = expected.Except(stored).Order().ToArray();
                long[] extra = stored.Except(expected).Order().ToArray();
                phase.Facts.Add($"history lacks frames ending at board samples {Ranges(missing)}; has points the reference subscriber lacks at {Ranges(extra)}");
            }
            var counts = Enumerable.Range(0, run.Subscribers.Count).Select(s => run.Subscribers.Counts(s, i)).ToArray();
            phase.HealthyMinFrames = counts.Min(c => c.Frames);
            phase.HealthyMaxFrames = counts.Max(c => c.Frames);
            phase.HealthyMissed = counts.Sum(c => c.Missed);
            phase.HealthyUncounted = counts.Sum(c => c.Uncounted);
            phase.MissedReconnecting = counts.Sum(c => c.MissedReconnecting);
            phase.StreamFailures = counts.Sum(c => c.StreamFailures);
            phase.ReferenceMissed = counts[0].Missed + counts[0].MissedReconnecting;
            phase.SubscribersMissing = counts.Count(c => c.Missed > 0 || c.Uncounted > 0);
            ReceivedFrame[] seen = reference.Where(f => f.ReceivedAt >= phase.Start && f.ReceivedAt < phase.End).ToArray();
            if (seen.Length > 0 && phase.Key != "clock")
            {
                phase.MaxDeliveryLagMs = seen.Max(f => (f.ReceivedAt - f.ComputedAt).TotalMilliseconds);
            }
            for (int a = 0, b = 0; b < seen.Length; b++)
            {
                while (seen[b].ComputedAt - seen[a].ComputedAt > TimeSpan.FromMilliseconds(30) || seen[b].Lifetime != seen[a].Lifetime)
                {
                    a++;
                }
                phase.MaxBurst = Math.Max(phase.MaxBurst, b - a + 1);
            }
            // In the clock phase the frames' computed_at is on the stepped clock: only the bursts say whether the station stalled.
            phase.SubscribersMissingWhileKeepingUp = phase.MaxBurst > 8 ? 0
                : counts.Count(c => c.Missed > 0 && (phase.Key == "clock" || c.MaxLagMs <= 160));
            IReadOnlyList<PageSample> page = run.Browser.Samples(phase.Start, phase.End);
            phase.BrowserSamples = page.Count;
            phase.BrowserStale = page.Count(s => s.Showing > 0 && s.ArrivalAgeMs > 1000);
            // A frame computed long before it is shown (the service's clock against the page's; the clock phase steps the service's only).
            phase.BrowserLateFrames = phase.Key == "clock" ? 0 : page.Count(s => s.Showing > 0 && s.ComputedAgeMs > 2000);
            (double[] arrived, double[] drawn) = run.Browser.Latencies(phase.Start, phase.End);
            phase.BrowserArrivedP50 = Quantile(arrived, 0.5);
            phase.BrowserArrivedP99 = Quantile(arrived, 0.99);
            phase.BrowserDrawnP50 = Quantile(drawn, 0.5);
            phase.BrowserDrawnP99 = Quantile(drawn, 0.99);
            double[] serial = [.. serialToClient[i]];
            phase.SerialToClient = new LatencyFigures(serial.Length, Quantile(serial, 0.5), Quantile(serial, 0.99), Quantile(serial, 0.999), serial.Length > 0 ? serial.Max() : double.NaN);
            Rules.Check(run, phase);
        }
    }

    /// <summary>"a-b (n), c-d (m)" of sorted values 20 apart (one frame per 20 samples); at most 5 runs.</summary>
    private static string Ranges(long[] sorted)
    {
        if (sorted.Length == 0)
        {
            return "none";
        }
        var runs = new List<string>();
        long start = sorted[0], prev = sorted[0];
        int n = 1;
        for (int i = 1; i <= sorted.Length; i++)
        {
            if (i < sorted.Length && sorted[i] - prev <= 40)
            {
                prev = sorted[i];
                n++;
                continue;
            }
            runs.Add($"{start}-{prev} ({n})");
            if (i < sorted.Length)
            {
                start = prev = sorted[i];
                n = 1;
            }
        }
        return string.Join(", ", runs.Take(5)) + (runs.Count > 5 ? $", ... {runs.Count} runs" : "");
    }

    public static double Quantile(double[] values, double q)
    {
        if (values.Length == 0)
        {
            return double.NaN;
        }
        double[] sorted = values.Order().ToArray();
        return sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
    }

    private static List<RecordingFacts> ReadRecordings(E2eRun run, long baseSequence, bool[] recorded, bool[] gap, bool[] wrong,
        IReadOnlyList<(DateTimeOffset Time, long Sequence)> timeline)
    {
        int[] input = run.Station.Input;
        var facts = new List<RecordingFacts>();
        foreach (string path in Directory.GetFiles(run.Station.Recordings, "*.bdf").Order())
        {
            using var file = new RecordingFile(path);
            string session = file.Header.RecordingId.Split(' ', StringSplitOptions.RemoveEmptyEntries)[2];
            DateTimeOffset start = new(file.Header.StartTime, TimeZoneInfo.Local.GetUtcOffset(file.Header.StartTime));
            int channels = file.ChannelCount;
            int n = file.SamplesPerRecord;
            var counts = new int[n * channels];
            var flags = new bool[n];
            long firstSequence = -1;
            long recordedSamples = 0, gapSamples = 0, wrongValues = 0;
            var wrongExamples = new List<string>();
            for (long r = 0; r < file.RecordCount; r++)
            {
                file.ReadRecord(r, counts, flags);
                for (int i = 0; i < n; i++)
                {
                    long position = file.RecordStarts[r] + i;
                    if (firstSequence < 0)
                    {
                        if (!flags[i])
                        {
                            continue;
                        }
                        firstSequence = Locate(input, counts.AsSpan(i * channels, channels), position, start, timeline);
                        if (firstSequence < 0)
                        {
                            throw new InvalidOperationException($"{Path.GetFileName(path)}: its samples at position {position} match no instant of the board's input near its start time.");
                        }
                    }
                    long k = firstSequence + position - baseSequence;
                    if (k < 0 || k >= recorded.Length)
                    {
                        continue;
                    }
                    if (!flags[i])
                    {
                        gapSamples++;
                        gap[k] = true;
                        continue;
                    }
                    recordedSamples++;
                    if (recorded[k])
                    {
                        wrong[k] = true; // one instant recorded twice: a sample invented
                    }
                    recorded[k] = true;
                    for (int c = 0; c < channels; c++)
                    {
                        int sent = FirmwareSimulator.Expected(input, (uint)(firstSequence + position), c);
                        if (counts[(i * channels) + c] != sent)
                        {
                            wrong[k] = true;
                            wrongValues++;
                            if (wrongExamples.Count < 5)
                            {
                                wrongExamples.Add($"board sample {firstSequence + position} channel {c}: recorded {counts[(i * channels) + c]}, sent {sent}");
                            }
                            break;
                        }
                    }
                }
            }
            var notes = wrongExamples.Concat(file.Annotations.Where(a => RecordingLayout.IsStationNote(a.Text) && !a.Text.StartsWith("Session", StringComparison.Ordinal))
                .Select(a => string.Create(CultureInfo.InvariantCulture, $"{a.OnsetSeconds:0.###} s: {(a.Text.Length > 60 ? a.Text[..60] + "..." : a.Text)}"))).ToList();
            var fact = new RecordingFacts(path, session, start, firstSequence, file.Instants, file.RecordCount, recordedSamples, gapSamples, wrongValues, file.Warnings.ToList(), notes);
            facts.Add(fact);
            foreach (SessionRecord s in run.Sessions.Where(s => s.Id == session && s.FirstSequence < 0))
            {
                s.FirstSequence = firstSequence;
                s.RecordingStart = start;
                s.Recording = fact;
                BdfAnnotation? origin = file.Annotations.FirstOrDefault(a => a.Text == "e2e origin");
                if (origin is not null && s.OriginSampleIndex >= 0)
                {
                    s.FirstIndex = s.OriginSampleIndex - (long)Math.Round(origin.OnsetSeconds * Rate);
                }
            }
        }
        return facts;
    }

    /// <summary>
    /// The board's sequence number of the file position <paramref name="position"/> whose counts are <paramref name="values"/>:
    /// the one instant of the input (63880 samples, 64 s) that matches on every channel, within 30 s of the file's start.
    /// </summary>
    private static long Locate(int[] input, ReadOnlySpan<int> values, long position, DateTimeOffset start, IReadOnlyList<(DateTimeOffset Time, long Sequence)> timeline)
    {
        long estimate = SequenceAt(timeline, start) + position;
        long found = -1;
        for (long s = Math.Max(0, estimate - 30_000); s <= estimate + 30_000; s++)
        {
            bool match = true;
            for (int c = 0; c < values.Length && match; c++)
            {
                match = values[c] == FirmwareSimulator.Expected(input, (uint)s, c);
            }
            if (match)
            {
                if (found >= 0)
                {
                    return -1; // ambiguous
                }
                found = s;
            }
        }
        return found < 0 ? -1 : found - position;
    }

    /// <summary>The board's newest sequence number at <paramref name="time"/>, interpolated from the relay's once-a-second marks.</summary>
    public static long SequenceAt(IReadOnlyList<(DateTimeOffset Time, long Sequence)> timeline, DateTimeOffset time)
    {
        int i = 0;
        while (i + 1 < timeline.Count && timeline[i + 1].Time <= time)
        {
            i++;
        }
        if (i + 1 >= timeline.Count)
        {
            return timeline[i].Sequence + (long)((time - timeline[i].Time).TotalSeconds * Rate);
        }
        (DateTimeOffset t0, long s0) = timeline[i];
        (DateTimeOffset t1, long s1) = timeline[i + 1];
        return s0 + (long)((time - t0).TotalSeconds / (t1 - t0).TotalSeconds * (s1 - s0));
    }

    /// <summary>
    /// History's activation points of one muscle (SCM L), each placed on the board's timeline: a session's points by the
    /// session's grid (recording start + slot), points outside sessions by their time. Also checks every series: no two
    /// points on one timestamp, and a session's points exactly on its grid.
    /// </summary>
    private static List<long> HistorySequences(E2eRun run, IReadOnlyList<(DateTimeOffset Time, long Sequence)> timeline, out List<string> problems)
    {
        problems = [];
        List<Series> all = run.Station.History.ExportAsync("activation_rms_uv").GetAwaiter().GetResult()
            .Where(s => s.Labels.GetValueOrDefault("station") == Station.StationName).ToList();
        int duplicates = 0, offGrid = 0, backwards = 0;
        foreach (Series series in all)
        {
            for (int i = 1; i < series.TimestampsMs.Length; i++)
            {
                if (series.TimestampsMs[i] == series.TimestampsMs[i - 1])
                {
                    duplicates++;
                }
                else if (series.TimestampsMs[i] < series.TimestampsMs[i - 1])
                {
                    backwards++;
                }
            }
        }
        if (duplicates > 0 || backwards > 0)
        {
            problems.Add($"history has {duplicates} points on a timestamp another point of the same series has, {backwards} out of order");
        }
        var result = new List<long>();
        // Channel 0: "SCM L" in a session (the montage names it), "CH1" outside sessions (a serial board's channels have no names).
        foreach (Series series in all.Where(s => (s.Labels.GetValueOrDefault("muscle") == "SCM" && s.Labels.GetValueOrDefault("side") == "left")
            || (s.Labels.GetValueOrDefault("session") == "none" && s.Labels.GetValueOrDefault("muscle") == "CH1")))
        {
            string tag = series.Labels.GetValueOrDefault("session") ?? "";
            SessionRecord? session = run.Sessions.FirstOrDefault(s => HistorySeries.RecordedField(s.Id) == tag && s.FirstSequence >= 0);
            foreach (long ms in series.TimestampsMs)
            {
                if (session is null)
                {
                    result.Add(SequenceAt(timeline, DateTimeOffset.FromUnixTimeMilliseconds(ms)));
                    continue;
                }
                long sinceStart = ms - session.RecordingStart.ToUnixTimeMilliseconds();
                if ((sinceStart - (Decimation - 1)) % Decimation != 0)
                {
                    offGrid++;
                }
                result.Add(session.FirstSequence + sinceStart);
            }
        }
        if (offGrid > 0)
        {
            problems.Add($"{offGrid} points of recorded sessions are off their session's grid (recording start + k x 20 ms + 19 ms)");
        }
        return result;
    }
}
