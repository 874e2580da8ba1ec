using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using EmgBiofeedback.Acquisition;
using EmgBiofeedback.Dsp;
using EmgBiofeedback.History;
using EmgBiofeedback.Pipeline;
using EmgBiofeedback.Recording;
using Microsoft.Extensions.Logging.Abstractions;

namespace EmgBiofeedback.Cli;

internal static class Program
{
    private static int Main(string[] args)
    {
        var file = new Argument<FileInfo>("file") { Description = "A BDF+/EDF+ recording." };
        var root = new RootCommand("EMG biofeedback recordings: inspect, replay, process, import, export.");

        var info = new Command("info", "Header, channels, duration and annotations of a recording.") { file };
        info.SetAction(r => Run(() => Info(r.GetValue(file)!)));

        var speed = new Option<double>("--speed") { Description = "1 = real time, N = N times faster, 0 = as fast as possible.", DefaultValueFactory = _ => 0 };
        var replay = new Command("replay", "Replays a recording through the live pipeline (decoder, acquisition loop, signal chain).") { file, speed };
        replay.SetAction((r, ct) => RunAsync(() => ReplayAsync(r.GetValue(file)!, r.GetValue(speed), ct)));

        var outCsv = new Option<FileInfo>("--out") { Description = "Output CSV file.", Required = true };
        var process = new Command("process", "Runs the whole signal chain offline: RMS envelope and quality per channel, as CSV.") { file, outCsv };
        process.SetAction(r => Run(() => Process(r.GetValue(file)!, r.GetValue(outCsv)!)));

        var source = new Argument<FileInfo>("source") { Description = "BioSPPy text (.txt) or CSV (.csv) file of ADC counts." };
        var outBdf = new Option<FileInfo>("--out") { Description = "BDF+ file to write.", Required = true };
        var rate = new Option<int?>("--rate") { Description = "Sample rate, Hz (required for CSV)." };
        var bits = new Option<int?>("--bits") { Description = "ADC resolution, bits (required for CSV)." };
        var refMv = new Option<int>("--reference-mv") { Description = "ADC reference, mV (BITalino: 3300).", DefaultValueFactory = _ => 3300 };
        var gain = new Option<double>("--gain") { Description = "Sensor gain, V/V (BITalino EMG: 1009).", DefaultValueFactory = _ => 1009 };
        var import = new Command("import", "Converts a BioSPPy text or CSV file of counts to BDF+.") { source, outBdf, rate, bits, refMv, gain };
        import.SetAction(r => Run(() =>
        {
            Importers.Import(r.GetValue(source)!.FullName, r.GetValue(outBdf)!.FullName,
                new ImportScaling(r.GetValue(refMv), r.GetValue(gain), r.GetValue(bits), r.GetValue(rate)));
            Console.WriteLine($"Wrote {r.GetValue(outBdf)!.FullName}");
        }));

        var csv = new Option<FileInfo>("--csv") { Description = "CSV file to write (counts and µV per channel).", Required = true };
        var export = new Command("export", "Exports a recording's samples as CSV.") { file, csv };
        export.SetAction(r => Run(() => Export(r.GetValue(file)!, r.GetValue(csv)!)));

        var seconds = new Option<double>("--seconds") { Description = "How long to record.", DefaultValueFactory = _ => 30 };
        var outDir = new Option<DirectoryInfo>("--out") { Description = "Recordings folder.", Required = true };
        var recordSim = new Command("record-sim", "Records the simulated board in real time (prints a line per flushed record).") { seconds, outDir };
        recordSim.SetAction((r, ct) => RunAsync(() => RecordSimulatedAsync(r.GetValue(seconds), r.GetValue(outDir)!, ct)));

        var url = new Option<string>("--url") { Description = "History server (InfluxDB 2.x/3.x/Cloud, or anything with its v2 write API).", Required = true };
        var org = new Option<string>("--org") { Description = "Organisation.", DefaultValueFactory = _ => "" };
        var bucket = new Option<string>("--bucket") { Description = "Bucket (or database).", Required = true };
        var tokenFile = new Option<string?>("--token-file") { Description = "File holding the API token; without it, the environment variable EMG_HISTORY_TOKEN." };
        var backfill = new Command("backfill", "Writes a recorded session's activation to the history server, computed exactly as live (after a spool overflow, or a session recorded offline).") { file, url, org, bucket, tokenFile };
        backfill.SetAction((r, ct) => RunAsync(() => BackfillAsync(r.GetValue(file)!, r.GetValue(url)!, r.GetValue(org)!, r.GetValue(bucket)!, r.GetValue(tokenFile), ct)));

        root.Subcommands.Add(info);
        root.Subcommands.Add(backfill);
        root.Subcommands.Add(replay);
        root.Subcommands.Add(process);
        root.Subcommands.Add(import);
        root.Subcommands.Add(export);
        root.Subcommands.Add(recordSim);
        return root.Parse(args).Invoke();
    }

    /// <summary>Missing, truncated or foreign files end the command with one clear line and exit code 2.</summary>
    private static int Run(Action action)
    {
        try
        {
            action();
            return 0;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException or RecordingPathException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
    }

    private static async Task<int> RunAsync(Func<Task> action)
    {
        try
        {
            await action().ConfigureAwait(false);
            return 0;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException or RecordingPathException)
        {
            await Console.Error.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
            return 2;
        }
    }

    private static RecordingFile Open(FileInfo file)
    {
        var recording = new RecordingFile(file.FullName);
        if (recording.Truncated)
        {
            Console.Error.WriteLine($"warning: {file.Name} is truncated (the recorder did not finish); reading its {recording.RecordCount} complete records.");
        }
        return recording;
    }

    private static void Info(FileInfo file)
    {
        using RecordingFile r = Open(file);
        BdfHeader h = r.Header;
        Console.WriteLine($"file:       {file.FullName}");
        Console.WriteLine($"format:     {(h.Is24Bit ? "BDF" : "EDF")} {h.Reserved}");
        Console.WriteLine($"patient:    {h.PatientId}");
        Console.WriteLine($"recording:  {h.RecordingId}");
        Console.WriteLine($"start:      {h.StartTime:yyyy-MM-dd HH:mm:ss}");
        Console.WriteLine($"duration:   {r.RecordCount * h.RecordDurationSeconds} s ({r.RecordCount} records{(r.Truncated ? ", truncated" : "")})");
        Console.WriteLine($"board:      {r.ChannelCount} ch x {r.SampleRateHz} Hz, {r.Board.AdcBits}-bit ADC, {r.Board.ReferenceMillivolts} mV");
        for (int c = 0; c < h.Signals.Count; c++)
        {
            BdfSignal s = h.Signals[c];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"channel {c + 1}:  {s.Label,-8} {s.UnitsPerDigit:G6} {s.PhysicalDimension}/count, {s.Transducer}"));
        }
        foreach (BdfAnnotation a in r.Annotations)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"annotation: {a.OnsetSeconds,10:F3} s {(a.DurationSeconds is { } d ? $"({d:F3} s) " : "")}{a.Text}"));
        }
    }

    private static async Task BackfillAsync(FileInfo file, string url, string org, string bucket, string? tokenFile, CancellationToken cancellationToken)
    {
        HistorySession session;
        IReadOnlyList<string> labels;
        using (RecordingFile r = Open(file))
        {
            // EDF+ fields as the recorder writes them (RecordingLayout.BuildHeader): "<code> X X X" and
            // "Startdate <date> <session> X <station> <board>"; the start time is the station's local clock.
            DateTime local = r.Header.StartTime;
            var start = new DateTimeOffset(DateTime.SpecifyKind(local, DateTimeKind.Unspecified), TimeZoneInfo.Local.GetUtcOffset(local));
            string patient = r.Header.PatientId.Split(' ')[0];
            string[] recording = r.Header.RecordingId.Split(' ');
            // Replay numbers the recording's first sample 0: the same timeline the live writer stamped the session on.
            session = new HistorySession(
                recording.Length > 2 ? recording[2] : "X",
                patient,
                recording.Length > 4 ? recording[4] : "X",
                SessionTimeline.Create(start, firstSampleIndex: 0, r.SampleRateHz, new SignalChainOptions().OutputRateHz));
            labels = r.Labels.ToArray();
        }
        var options = new HistoryOptions
        {
            Enabled = true,
            Url = url,
            Org = org,
            Bucket = bucket,
            Token = tokenFile is null ? Environment.GetEnvironmentVariable("EMG_HISTORY_TOKEN") : null,
            TokenFile = tokenFile,
            Station = session.Station!,
        };
        var validation = new HistoryOptionsValidator().Validate(null, options);
        if (validation.Failed)
        {
            throw new ArgumentException(validation.FailureMessage);
        }
        var frames = new List<ActivationFrame>();
        await ReplayCoreAsync(file, 0, frames.Add, cancellationToken).ConfigureAwait(false);
        long points = await HistoryBackfill.WriteAsync(options, session, labels, frames, cancellationToken).ConfigureAwait(false);
        Console.WriteLine($"Wrote {points} points ({frames.Count} activation frames) of session {session.SessionId} to {url}.");
    }

    private static async Task ReplayAsync(FileInfo file, double speed, CancellationToken cancellationToken)
    {
        long count = 0;
        (ReplayBoardLink link, AcquisitionLoop loop, ActivationFrame? last, TimeSpan elapsed) = await ReplayCoreAsync(file, speed, f =>
        {
            if (speed > 0 && ++count % 50 == 0)
            {
                Console.WriteLine(string.Join("  ", f.Muscles.Select(m => string.Create(CultureInfo.InvariantCulture, $"{m.Label} {m.RmsMicrovolts,6:F1}"))));
            }
        }, cancellationToken).ConfigureAwait(false);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Replayed {link.FramesSent} sample instants in {elapsed.TotalSeconds:F3} s: activation frames up to sample {last?.SampleIndex}; decoder gaps {loop.Counters.Gaps}, lost {loop.Counters.LostFrames}."));
    }

    /// <summary>The recording through exactly the live path: replay link, decoder, acquisition loop, signal chain.</summary>
    private static async Task<(ReplayBoardLink Link, AcquisitionLoop Loop, ActivationFrame? Last, TimeSpan Elapsed)> ReplayCoreAsync(
        FileInfo file, double speed, Action<ActivationFrame> onFrame, CancellationToken cancellationToken)
    {
        using (Open(file))
        {
            // Fail on a missing or foreign file before starting the loop.
        }
        var link = new ReplayBoardLink(file.FullName, speed, TimeProvider.System);
        var pipeline = new LivePipeline(new SignalChainOptions(), [], TimeProvider.System);
        using Subscription<ActivationFrame> frames = pipeline.Activation.Subscribe(1 << 18);
        var loop = new AcquisitionLoop(link, [pipeline], new AcquisitionOptions(), TimeProvider.System, NullLogger<AcquisitionLoop>.Instance);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var watch = Stopwatch.StartNew();
        Task run = loop.RunAsync(stop.Token);
        ActivationFrame? last = null;
        Task completion = link.Completion;
        while (!completion.IsCompleted)
        {
            Task<bool> more = frames.Reader.WaitToReadAsync(cancellationToken).AsTask();
            await Task.WhenAny(more, completion).ConfigureAwait(false);
            while (frames.Reader.TryRead(out ActivationFrame? f))
            {
                last = f;
                onFrame(f);
            }
        }
        await stop.CancelAsync().ConfigureAwait(false);
        await run.ConfigureAwait(false);
        while (frames.Reader.TryRead(out ActivationFrame? f))
        {
            last = f;
            onFrame(f);
        }
        return (link, loop, last, watch.Elapsed);
    }

    private static void Process(FileInfo file, FileInfo output)
    {
        using RecordingFile r = Open(file);
        int rate = r.SampleRateHz, channels = r.ChannelCount;
        using var writer = new StreamWriter(output.FullName);
        writer.WriteLine("sample_index,time_s," + string.Join(',', r.Labels.SelectMany(l => new[] { $"{l} rms_uV", $"{l} quality", $"{l} valid" })));
        long lines = 0;
        RecordingProcessor.Run(r, new SignalChainOptions(), outputs =>
        {
            for (int o = 0; o < outputs.Length; o += channels)
            {
                var line = new System.Text.StringBuilder();
                line.Append(CultureInfo.InvariantCulture, $"{outputs[o].SampleIndex},{outputs[o].SampleIndex / (double)rate:F3}");
                for (int c = 0; c < channels; c++)
                {
                    EnvelopeSample s = outputs[o + c];
                    line.Append(CultureInfo.InvariantCulture, $",{s.RmsMicrovolts:F3},{s.Quality},{(s.IsValid ? 1 : 0)}");
                }
                writer.WriteLine(line);
                if (++lines % 3000 == 0)
                {
                    Console.Error.Write($"\rprocessed {outputs[o].SampleIndex / rate} of {r.RecordCount} s");
                }
            }
        });
        Console.Error.WriteLine($"\rprocessed {r.RecordCount}/{r.RecordCount} s -> {output.FullName}");
    }

    private static void Export(FileInfo file, FileInfo csv)
    {
        using RecordingFile r = Open(file);
        int rate = r.SampleRateHz, channels = r.ChannelCount;
        var counts = new ushort[rate * channels];
        var recorded = new bool[rate];
        double[] scale = r.Header.Signals.Select(s => s.UnitsPerDigit).ToArray();
        double[] zero = r.Header.Signals.Select(s => (double)RecordingLayout.ZeroCount(s)).ToArray();
        using var writer = new StreamWriter(csv.FullName);
        writer.WriteLine("sample_index,time_s,recorded," + string.Join(',', r.Labels.SelectMany(l => new[] { $"{l} counts", $"{l} uV" })));
        for (long rec = 0; rec < r.RecordCount; rec++)
        {
            r.ReadRecord(rec, counts, recorded);
            for (int i = 0; i < rate; i++)
            {
                long index = rec * rate + i;
                var line = new System.Text.StringBuilder();
                line.Append(CultureInfo.InvariantCulture, $"{index},{index / (double)rate:F4},{(recorded[i] ? 1 : 0)}");
                for (int c = 0; c < channels; c++)
                {
                    ushort v = counts[i * channels + c];
                    line.Append(CultureInfo.InvariantCulture, $",{v},{(v - zero[c]) * scale[c]:F3}");
                }
                writer.WriteLine(line);
            }
        }
        Console.WriteLine($"Wrote {csv.FullName}");
    }

    private static async Task RecordSimulatedAsync(double seconds, DirectoryInfo folder, CancellationToken cancellationToken)
    {
        var sim = new SimulatorOptions();
        var recorder = new Recorder(new RecorderOptions { Station = "sim" }, new RecordingsFolder(folder.FullName), TimeProvider.System);
        recorder.Flushed += (path, records) => Console.WriteLine($"flushed {records} {path}");
        recorder.Start(new RecordingRequest("sim", "record-sim", "X", sim.EffectiveMuscles(sim.Channels).Select(m => m.Label).ToArray()));
        var loop = new AcquisitionLoop(new SimulatedBoardLink(sim, 200, TimeProvider.System), [recorder], new AcquisitionOptions(), TimeProvider.System, NullLogger<AcquisitionLoop>.Instance);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        stop.CancelAfter(TimeSpan.FromSeconds(seconds));
        await loop.RunAsync(stop.Token).ConfigureAwait(false);
        Console.WriteLine($"closed {recorder.Stop()}");
    }
}
