using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using EmgBiofeedback.Dsp;
using EmgBiofeedback.Recording;
using EmgBiofeedback.Reports;
using EmgBiofeedback.Sessions;

namespace EmgBiofeedback.Cli;

/// <summary>
/// The clinical commands: a recorded session's summary (text, JSON) and printable report, analysed again from the
/// recording alone exactly as the station does live, and one patient's trend over the summaries in a folder.
/// </summary>
internal static partial class ClinicalCommands
{
    public static void Add(RootCommand root)
    {
        var recording = new Argument<FileInfo>("recording") { Description = "A BDF+/EDF+ recording of a session (channels labelled \"<muscle> L/R\")." };

        var json = new Option<FileInfo?>("--json") { Description = "Also write the summary as JSON (schema emg-session-summary/1)." };
        var report = new Option<FileInfo?>("--report") { Description = "Also write the one-page printable report (self-contained HTML)." };
        var summary = new Command("summary", "Analyses a recorded session again: calibration, %MVC per trial, asymmetry, marker effects.") { recording, json, report };
        summary.SetAction(r => Run(() => Summary(r.GetValue(recording)!, r.GetValue(json), r.GetValue(report))));

        var output = new Option<FileInfo?>("-o", "--out") { Description = "The report to write (default: \"<recording>.report.html\")." };
        var reportCommand = new Command("report", "Writes the one-page printable report of a recorded session (self-contained HTML, A4).") { recording, output };
        reportCommand.SetAction(r => Run(() => Report(r.GetValue(recording)!, r.GetValue(output))));

        var code = new Argument<string>("patient-code") { Description = "The patient's pseudonymous code (1-32 letters, digits, '-' or '_')." };
        var folder = new Option<DirectoryInfo?>("--folder")
        {
            Description = "Where to look for \"*.summary.json\" files, recursively (default: the service's default Recording:Folder, "
                + "\"recordings\" in the current directory, or in $STATE_DIRECTORY when that is set, as under systemd).",
        };
        var html = new Option<FileInfo?>("--html") { Description = "Also write the trend as a self-contained HTML page with plots." };
        var trend = new Command("trend", "One patient's sessions by date from their summaries: %MVC, time in target, asymmetry, baselines, outcome scores.") { code, folder, html };
        trend.SetAction(r => Run(() => Trend(r.GetValue(code)!, r.GetValue(folder), r.GetValue(html))));

        root.Subcommands.Add(summary);
        root.Subcommands.Add(reportCommand);
        root.Subcommands.Add(trend);
    }

    /// <summary>Missing, truncated or foreign files end the command with one clear line and exit code 2, as the other commands.</summary>
    private static int Run(Func<int> action)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException or RecordingPathException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"error: {Program.Printable(e.Message)}");
            return 2;
        }
    }

    private static RecordingAnalysis.Result Analyse(FileInfo file)
    {
        if (!file.Exists)
        {
            throw new FileNotFoundException($"No recording at {file.Name}.", file.FullName);
        }
        RecordingAnalysis.Result result;
        try
        {
            result = RecordingAnalysis.Analyse(file.FullName, new SignalChainOptions(), new CalibrationSettings());
        }
        catch (InvalidDataException e) when (!e.Message.StartsWith(file.Name, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{file.Name}: {e.Message}", e);
        }
        foreach (string w in result.Warnings)
        {
            Console.Error.WriteLine($"warning: {Program.Printable(w)}");
        }
        return result;
    }

    private static int Summary(FileInfo file, FileInfo? json, FileInfo? report)
    {
        // Outputs checked before the analysis, which may take a while on a long recording.
        foreach (FileInfo? o in new[] { json, report })
        {
            if (o is not null)
            {
                AtomicOutput.RefuseInput(o.FullName, file.FullName);
            }
        }
        if (json is not null && report is not null && string.Equals(json.FullName, report.FullName, StringComparison.Ordinal))
        {
            throw new ArgumentException($"--json and --report are the same file {json.Name}: choose two.");
        }
        RecordingAnalysis.Result result = Analyse(file);
        Console.Write(Describe(result.Summary));
        if (json is not null)
        {
            WriteAtomically(json, SummaryJson.Write(result.Summary), file);
            Console.WriteLine($"Wrote {json.Name}");
        }
        if (report is not null)
        {
            WriteAtomically(report, SessionReport.Render(result.Session, result.Summary), file);
            Console.WriteLine($"Wrote {report.Name}");
        }
        return 0;
    }

    private static int Report(FileInfo file, FileInfo? output)
    {
        output ??= new FileInfo(file.FullName + ".report.html");
        AtomicOutput.RefuseInput(output.FullName, file.FullName);
        RecordingAnalysis.Result result = Analyse(file);
        WriteAtomically(output, SessionReport.Render(result.Session, result.Summary), file);
        Console.WriteLine($"Wrote {output.FullName}");
        return 0;
    }

    private static int Trend(string code, DirectoryInfo? folder, FileInfo? html)
    {
        if (!PatientCode.IsValid(code))
        {
            throw new ArgumentException($"\"{code}\" is not a patient code: 1-32 letters, digits, '-' or '_'.");
        }
        folder ??= new DirectoryInfo(DefaultFolder());
        if (!folder.Exists)
        {
            throw new DirectoryNotFoundException($"No recordings folder at {folder.FullName} (give one with --folder).");
        }
        var sessions = new List<(DateTimeOffset Date, string SummaryJson)>();
        foreach (string path in Directory.EnumerateFiles(folder.FullName, "*.summary.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            string text;
            TrendSession session;
            try
            {
                text = File.ReadAllText(path);
                session = TrendReport.Read(text);
            }
            catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"warning: {Program.Printable(Path.GetRelativePath(folder.FullName, path))}: {Program.Printable(e.Message)}; skipped.");
                continue;
            }
            if (string.Equals(session.PatientCode, code, StringComparison.Ordinal))
            {
                sessions.Add((session.Date, text));
            }
        }
        if (sessions.Count == 0)
        {
            Console.Error.WriteLine($"No session summaries of patient {code} in {folder.FullName}.");
            return 1;
        }
        sessions.Sort((a, b) => a.Date.CompareTo(b.Date));
        Console.Write(TrendReport.RenderText(code, sessions));
        if (html is not null)
        {
            WriteAtomically(html, TrendReport.Render(code, sessions));
            Console.WriteLine($"Wrote {html.Name}");
        }
        return 0;
    }

    /// <summary>
    /// The folder the service keeps its recordings (and their summaries) in by default: Recording:Folder is
    /// "recordings", resolved inside $STATE_DIRECTORY under systemd, else inside the working directory.
    /// </summary>
    internal static string DefaultFolder()
    {
        string? state = Environment.GetEnvironmentVariable("STATE_DIRECTORY")?.Split(':', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
        return Path.GetFullPath(Path.Combine(string.IsNullOrEmpty(state) ? Directory.GetCurrentDirectory() : state, new RecorderOptions().Folder));
    }

    private static void WriteAtomically(FileInfo output, string text, params FileInfo[] inputs)
    {
        using var target = AtomicOutput.Create(output.FullName, inputs.Select(i => i.FullName).ToArray());
        byte[] bytes = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false).GetBytes(text);
        target.Stream.Write(bytes);
        target.Commit();
    }

    /// <summary>The short human summary: calibration, work %MVC per trial, asymmetry, marker effects.</summary>
    internal static string Describe(SessionSummary s)
    {
        var b = new StringBuilder();
        CultureInfo inv = CultureInfo.InvariantCulture;
        SessionInfo info = s.Info;
        b.Append(inv, $"Session {Program.Printable(info.SessionId)}, patient {Program.Printable(info.PatientCode)}, station {Program.Printable(info.Station)}, {info.Start:yyyy-MM-dd HH:mm}, {s.DurationSeconds:0.#} s, source {Program.Printable(info.Source)}\n");
        if (s.Montage.Count == 0)
        {
            b.Append("No channel names a muscle: no %MVC, no indices.\n");
            return b.ToString();
        }
        int w = Math.Max(6, s.Montage.Max(e => e.Label.Length));
        b.Append("Calibration:\n");
        foreach (MontageEntry e in s.Montage)
        {
            b.Append(inv, $"  {Program.Printable(e.Label).PadRight(w)}  ");
            b.Append(s.Calibration.TryGetValue(e.Label, out MuscleCalibration? c)
                ? string.Create(inv, $"rest {c.RestMicrovolts,7:0.0} uV  MVC {c.MvcMicrovolts,7:0.0} uV")
                : "not calibrated (no %MVC)").Append('\n');
        }
        if (s.Trials.Count == 0)
        {
            b.Append("No trials.\n");
        }
        else
        {
            b.Append("Work mean %MVC per trial:\n");
            b.Append(' ', w + 2).Append(inv, $"  {"all",6}");
            foreach (TrialSummary t in s.Trials)
            {
                b.Append(inv, $" {"T" + t.N.ToString(inv),6}");
            }
            b.Append('\n');
            foreach (MontageEntry e in s.Montage)
            {
                b.Append(inv, $"  {Program.Printable(e.Label).PadRight(w)}  {Pct(s.Overall.Work.GetValueOrDefault(e.Label)?.MeanPctMvc),6}");
                foreach (TrialSummary t in s.Trials)
                {
                    b.Append(inv, $" {Pct(t.Work.GetValueOrDefault(e.Label)?.MeanPctMvc),6}");
                }
                b.Append('\n');
            }
        }
        if (s.Overall.Asymmetry.Count > 0)
        {
            b.Append("Asymmetry (L - R) / (L + R), work: ")
                .Append(string.Join(", ", s.Overall.Asymmetry.Select(a => $"{Program.Printable(a.Key)} {Signed(a.Value)}"))).Append('\n');
        }
        if (s.Markers.Count > 0)
        {
            b.Append(inv, $"Markers (mean %MVC {s.MarkerWindowSeconds:0.#} s before -> after):\n");
            foreach (MarkerSummary m in s.Markers)
            {
                b.Append(inv, $"  {m.TimeSeconds,7:0.0} s  \"{Program.Printable(m.Label)}\": ");
                b.Append(string.Join(", ", m.Effect.Where(e => e.Value.BeforePctMvc is not null || e.Value.AfterPctMvc is not null)
                    .Select(e => $"{Program.Printable(e.Key)} {Pct(e.Value.BeforePctMvc)} -> {Pct(e.Value.AfterPctMvc)}{(e.Value.Change is { } c ? string.Create(inv, $" ({100 * c:+0;-0;0}%)") : "")}")));
                b.Append('\n');
            }
        }
        if (s.Outcomes.Count > 0)
        {
            b.Append("Outcome scores: ").Append(string.Join(", ", s.Outcomes.Select(o => string.Create(inv, $"{o.Key} {o.Value:0.##}")))).Append('\n');
        }
        return b.ToString();
    }

    private static string Pct(double? v) => v is { } x && double.IsFinite(x) ? x.ToString("0.0", CultureInfo.InvariantCulture) : "-";

    private static string Signed(double? v) => v is { } x && double.IsFinite(x) ? x.ToString("+0.00;-0.00;0.00", CultureInfo.InvariantCulture) : "-";

}
