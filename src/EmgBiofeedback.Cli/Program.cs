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

        var signals = new Option<string?>("--signals") { Description = "Signals to use, by label, comma-separated (default: the voltage signals at their most common rate; export: all signals of one rate)." };
        var speed = new Option<double>("--speed") { Description = "1 = real time, N = N times faster, 0 = as fast as possible.", DefaultValueFactory = _ => 0 };
        var replay = new Command("replay", "Replays a recording through the live pipeline (decoder, acquisition loop, signal chain).") { file, speed, signals };
        replay.SetAction((r, ct) => RunAsync(() => ReplayAsync(r.GetValue(file)!, r.GetValue(speed), Labels(r.GetValue(signals)), ct)));

        var outCsv = new Option<FileInfo>("--out") { Description = "Output CSV file.", Required = true };
        var process = new Command("process", "Runs the whole signal chain offline: RMS envelope and quality per channel, as CSV.") { file, outCsv, signals };
        process.SetAction(r => Run(() => Process(r.GetValue(file)!, r.GetValue(outCsv)!, Labels(r.GetValue(signals)))));

        var source = new Argument<FileInfo>("source") { Description = "BioSPPy text (.txt) or CSV (.csv) file of ADC counts." };
        var outBdf = new Option<FileInfo>("--out") { Description = "File to write: .bdf writes BDF+ (24-bit), .edf writes EDF+ (16-bit).", Required = true };
        var rate = new Option<double?>("--rate") { Description = "Sample rate, whole Hz. Required for CSV unless its header row has a time column (time, time_s or timestamp, in seconds) with a constant step, which then gives the rate; refused when the file's own rate differs (more than 0.1 % for a time column)." };
        var bits = new Option<int?>("--bits") { Description = "ADC resolution, bits (required for CSV)." };
        var refMv = new Option<int>("--reference-mv") { Description = "ADC reference, mV (BITalino: 3300).", DefaultValueFactory = _ => 3300 };
        var gain = new Option<double>("--gain") { Description = "Sensor gain, V/V (BITalino EMG: 1009).", DefaultValueFactory = _ => 1009 };
        var importLabels = new Option<string?>("--labels") { Description = "Channel labels, comma-separated, one per data column (\"SCM L,SCM R,UT L,UT R\"; up to 12 printable ASCII characters each). Refused when the file's header names the channels differently." };
        var events = new Option<FileInfo?>("--events") { Description = "BIDS-style events file (tab-separated; columns onset, duration, trial_type; seconds from the first sample; duration n/a = an instant): each row becomes an annotation." };
        var import = new Command("import", "Converts a BioSPPy text or CSV file of counts to BDF+ (.bdf) or EDF+ (.edf).") { source, outBdf, rate, bits, refMv, gain, importLabels, events };
        import.SetAction(r => Run(() =>
        {
            string? labelList = r.GetValue(importLabels);
            ImportResult result = Importers.Import(r.GetValue(source)!.FullName, r.GetValue(outBdf)!.FullName,
                new ImportScaling(r.GetValue(refMv), r.GetValue(gain), r.GetValue(bits), r.GetValue(rate)),
                labels: labelList is null ? null : Importers.ParseLabels(labelList), events: r.GetValue(events)?.FullName);
            Console.WriteLine($"Wrote {result.Destination}");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{result.Labels.Count} channel{(result.Labels.Count == 1 ? "" : "s")} ({Printable(string.Join(", ", result.Labels))}) x {result.Samples} samples at {result.SampleRateHz} Hz{(result.RateFromTimeColumn ? " (from the time column)" : "")}, {result.Events} event{(result.Events == 1 ? "" : "s")}."));
        }));

        var csv = new Option<FileInfo>("--csv") { Description = "CSV file to write (digital value and physical value per signal; voltages in µV).", Required = true };
        var export = new Command("export", "Exports a recording's samples as CSV, exact physical values.") { file, csv, signals };
        export.SetAction(r => Run(() => Export(r.GetValue(file)!, r.GetValue(csv)!, Labels(r.GetValue(signals)))));

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
        ClinicalCommands.Add(root);
        WatchCommand.Add(root);
        BoardCommand.Add(root);
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

    private static IReadOnlyList<string>? Labels(string? list) =>
        string.IsNullOrWhiteSpace(list) ? null : list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

    private static RecordingFile Open(FileInfo file, IReadOnlyList<string>? signals = null)
    {
        RecordingFile recording;
        try
        {
            recording = new RecordingFile(file.FullName, signals);
        }
        catch (InvalidDataException e) when (!e.Message.StartsWith(file.Name, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{file.Name}: {e.Message}", e);
        }
        foreach (string w in recording.Warnings)
        {
            Console.Error.WriteLine($"warning: {Printable(w)}");
        }
        if (recording.Note is { } note)
        {
            Console.Error.WriteLine($"note: {Printable(note)}");
        }
        return recording;
    }

    /// <summary>Text from a file as a terminal may print it: control characters escaped.</summary>
    internal static string Printable(string s)
    {
        var b = new System.Text.StringBuilder(s.Length);
        foreach (char c in s)
        {
            if (char.IsControl(c) || c is '\u2028' or '\u2029' || char.GetUnicodeCategory(c) == UnicodeCategory.Format)
            {
                b.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
            }
            else
            {
                b.Append(c);
            }
        }
        return b.ToString();
    }

    private static void Info(FileInfo file)
    {
        if (!file.Exists)
        {
            throw new FileNotFoundException($"No recording at {file.Name}.", file.FullName);
        }
        using var reader = new BdfReader(file.FullName);
        BdfHeader h = reader.Header;
        IReadOnlyList<BdfAnnotation> annotations = reader.ReadAnnotations(); // reading them reports damaged ones
        foreach (string w in reader.Warnings)
        {
            Console.Error.WriteLine($"warning: {Printable(w)}");
        }
        Console.WriteLine($"file:       {Printable(file.Name)}");
        Console.WriteLine($"format:     {(h.Is24Bit ? "BDF" : "EDF")}{(h.Reserved.Length > 0 ? " " + Printable(h.Reserved) : "")}{(reader.IsDiscontinuous ? " (discontinuous)" : "")}");
        Console.WriteLine($"patient:    {Printable(h.PatientId)}");
        Console.WriteLine($"recording:  {Printable(h.RecordingId)}");
        Console.WriteLine($"start:      {h.StartTime:yyyy-MM-dd HH:mm:ss}");
        double span = reader.RecordCount == 0 ? 0 : reader.RecordOnsetSeconds(reader.RecordCount - 1) + h.RecordDurationSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"duration:   {span:0.###} s ({reader.RecordCount} records of {h.RecordDurationSeconds:0.######} s{(reader.Truncated ? ", truncated" : "")})"));
        Console.WriteLine($"signals:    {h.Signals.Count}{(h.AnnotationSignalIndices.Count > 0 ? $" and {h.AnnotationSignalIndices.Count} annotations signal{(h.AnnotationSignalIndices.Count > 1 ? "s" : "")}" : "")}");
        for (int c = 0; c < h.Signals.Count; c++)
        {
            BdfSignal s = h.Signals[c];
            string unit = s.PhysicalDimension.Length > 0 ? s.PhysicalDimension : "(no unit)";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"signal {c + 1,3}: {Printable(s.Label),-16} {s.SamplesPerRecord / h.RecordDurationSeconds,9:0.###} Hz  {Printable(unit),-8} physical {s.PhysicalMinimum:G6} to {s.PhysicalMaximum:G6}, digital {s.DigitalMinimum} to {s.DigitalMaximum}{(s.Transducer.Length > 0 ? ", " + Printable(s.Transducer) : "")}{(s.Prefiltering.Length > 0 ? ", " + Printable(s.Prefiltering) : "")}"));
        }
        try
        {
            using var r = new RecordingFile(file.FullName);
            long countSpan = r.Scales.Max(s => (long)s.MaxCount - s.MinCount);
            string counts = r.FitsUInt16 ? $"{r.Board.AdcBits}-bit ADC{(r.Board.ReferenceMillivolts > 0 ? $", {r.Board.ReferenceMillivolts} mV" : "")}" : $"{Math.Ceiling(Math.Log2(countSpan + 1.0))}-bit counts";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"board:      {r.ChannelCount} ch x {r.SampleRateHz:0.###} Hz, {counts} (the signals replay and process run: {Printable(string.Join(", ", r.Chosen.Select(i => h.Signals[i].Label)))})"));
            if (r.ReplayRefusal() is { } why)
            {
                Console.WriteLine($"replay:     not possible: {Printable(why)}");
            }
        }
        catch (InvalidDataException e)
        {
            Console.WriteLine($"board:      none: {Printable(e.Message)}");
        }
        foreach (BdfAnnotation a in annotations)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"annotation: {a.OnsetSeconds,10:F3} s {(a.DurationSeconds is { } d ? $"({d:F3} s) " : "")}{Printable(a.Text)}"));
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
                SessionTimeline.Create(start, firstSampleIndex: 0, r.Board.SampleRateHz, new SignalChainOptions().OutputRateHz))
            {
                Source = r.RecordedSource, // the live writer's source tag, from the recording, not "replay"
            };
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
        await ReplayCoreAsync(file, 0, null, frames.Add, cancellationToken).ConfigureAwait(false);
        long points = await HistoryBackfill.WriteAsync(options, session, labels, frames, cancellationToken).ConfigureAwait(false);
        Console.WriteLine($"Wrote {points} points ({frames.Count} activation frames) of session {session.SessionId} to {url}.");
    }

    private static async Task ReplayAsync(FileInfo file, double speed, IReadOnlyList<string>? signals, CancellationToken cancellationToken)
    {
        long count = 0;
        (ReplayBoardLink link, AcquisitionLoop loop, ActivationFrame? last, TimeSpan elapsed) = await ReplayCoreAsync(file, speed, signals, f =>
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
        FileInfo file, double speed, IReadOnlyList<string>? signals, Action<ActivationFrame> onFrame, CancellationToken cancellationToken)
    {
        using (Open(file, signals))
        {
            // A missing or foreign file: its warnings and notes printed.
        }
        try
        {
            // One that cannot be replayed, or whose rate the chain cannot filter: refused before the loop starts.
            using RecordingFile checkedFile = ReplayControl.Check(file.FullName, file.Name, new SignalChainOptions(), signals);
        }
        catch (ReplayRefusedException e)
        {
            throw new InvalidDataException(e.Message, e);
        }
        var link = new ReplayBoardLink(file.FullName, speed, TimeProvider.System, 0, signals);
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

    private static void Process(FileInfo file, FileInfo output, IReadOnlyList<string>? signals)
    {
        using RecordingFile r = Open(file, signals);
        double rate = r.SampleRateHz;
        int channels = r.ChannelCount;
        RecordingProcessor.CreateChain(r, new SignalChainOptions()); // a rate or scale the chain cannot take fails here, before any output
        using var target = AtomicOutput.Create(output.FullName, r.Path);
        var writer = new StreamWriter(target.Stream, leaveOpen: true); // disposed before the commit; on failure the target goes
        writer.WriteLine("sample_index,time_s," + string.Join(',', r.Labels.SelectMany(l => new[] { $"{l} rms_uV", $"{l} quality", $"{l} valid" }).Select(RecordingExport.CsvField)));
        long lines = 0;
        RecordingProcessor.Run(r, new SignalChainOptions(), outputs =>
        {
            for (int o = 0; o < outputs.Length; o += channels)
            {
                var line = new System.Text.StringBuilder();
                line.Append(CultureInfo.InvariantCulture, $"{outputs[o].SampleIndex},{outputs[o].SampleIndex / rate:F3}");
                for (int c = 0; c < channels; c++)
                {
                    EnvelopeSample s = outputs[o + c];
                    line.Append(CultureInfo.InvariantCulture, $",{s.RmsMicrovolts:G9},{s.Quality.ToString().Replace(", ", "|", StringComparison.Ordinal)},{(s.IsValid ? 1 : 0)}");
                }
                writer.WriteLine(line);
                if (++lines % 3000 == 0)
                {
                    Console.Error.Write($"\rprocessed {outputs[o].SampleIndex / rate:F0} s");
                }
            }
        });
        writer.Dispose(); // flushes into the temporary file before it is renamed
        target.Commit();
        Console.Error.WriteLine($"\rprocessed {r.RecordCount} records -> {output.Name}");
    }

    private static void Export(FileInfo file, FileInfo csv, IReadOnlyList<string>? signals)
    {
        if (!file.Exists)
        {
            throw new FileNotFoundException($"No recording at {file.Name}.", file.FullName);
        }
        using var reader = new BdfReader(file.FullName);
        _ = reader.ReadAnnotations(); // reading them reports damaged ones
        foreach (string w in reader.Warnings)
        {
            Console.Error.WriteLine($"warning: {Printable(w)}");
        }
        int[] chosen;
        try
        {
            chosen = RecordingExport.Choose(reader.Header, signals);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{file.Name}: {e.Message}", e);
        }
        using var target = AtomicOutput.Create(csv.FullName, file.FullName);
        var writer = new StreamWriter(target.Stream, leaveOpen: true); // disposed before the commit; on failure the target goes
        long rows = RecordingExport.Write(reader, chosen, writer);
        writer.Dispose(); // flushes into the temporary file before it is renamed
        target.Commit();
        Console.WriteLine($"Wrote {rows} rows to {csv.Name}");
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
