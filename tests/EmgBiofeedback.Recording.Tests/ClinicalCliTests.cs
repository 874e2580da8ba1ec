using EmgBiofeedback.Dsp;
using EmgBiofeedback.Sessions;

namespace EmgBiofeedback.Recording.Tests;

/// <summary>`emg summary`, `emg report` and `emg trend` on a recorded session with clinical annotations.</summary>
public class ClinicalCliTests
{
    /// <summary>
    /// 40 s of the simulated board (SCM L bursting, SCM R quiet) with a rest calibration, an MVC of SCM L, one trial,
    /// a marker and an outcome score, written into the recording as the station writes them.
    /// </summary>
    private static SimulatedRecording Session(string folder) => SimulatedRecording.Make(folder, 40, atInstant: (recorder, i) =>
    {
        switch (i)
        {
            case 1_000:
                recorder.Mark("outcome twstrs_total 30", 1_000, 0);
                break;
            case 7_000:
                recorder.Mark("calibration rest", 2_500, 4_500); // between two of SCM L's bursts (1-2.5 s, 7-8.5 s)
                break;
            case 16_000:
                recorder.Mark("calibration mvc SCM L", 12_000, 4_000); // a burst at 13-14.5 s
                break;
            case 20_000:
                recorder.Mark("sensory <trick>", 20_000, 0);
                break;
            case 26_000:
                recorder.Mark("trial 1 work", 16_000, 10_000);
                break;
            case 36_000:
                recorder.Mark("trial 1 rest", 26_000, 10_000);
                break;
        }
    });

    [Fact]
    public async Task Summary_prints_the_indices_and_writes_the_same_json_as_the_analysis_and_a_report()
    {
        string folder = Directory.CreateTempSubdirectory("emg-cli-").FullName;
        SimulatedRecording rec = Session(folder);
        string json = rec.Path + ".summary.json", report = rec.Path + ".report.html";

        var run = await CliTests.Emg("summary", rec.Path, "--json", json, "--report", report);

        Assert.True(run.ExitCode == 0, run.Errors);
        Assert.Matches(@"Calibration:\n  SCM L\s+rest\s+[0-9.]+ uV  MVC\s+[0-9.]+ uV\n", run.Output);
        Assert.Contains("SCM R   not calibrated", run.Output, StringComparison.Ordinal);
        Assert.Matches(@"Work mean %MVC per trial:\n\s+all\s+T1\n  SCM L\s+[0-9.]+\s+[0-9.]+\n", run.Output);
        Assert.Contains("\"sensory <trick>\": SCM L ", run.Output, StringComparison.Ordinal);
        Assert.Contains("Outcome scores: twstrs_total 30", run.Output, StringComparison.Ordinal);
        RecordingAnalysis.Result expected = RecordingAnalysis.Analyse(rec.Path, new SignalChainOptions(), new CalibrationSettings());
        Assert.Equal(SummaryJson.Write(expected.Summary), await File.ReadAllTextAsync(json));
        string html = await File.ReadAllTextAsync(report);
        Assert.Equal(rec.Labels.Count(l => Montage.FromLabels([l]).Entries.Count == 1), System.Text.RegularExpressions.Regex.Matches(html, "<svg class=\"plot\"").Count);
        Assert.Contains("sensory &lt;trick&gt;", html, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFiles(folder, "*.tmp"));
    }

    [Fact]
    public async Task Report_writes_beside_the_recording_and_trend_finds_the_patients_summaries()
    {
        string folder = Directory.CreateTempSubdirectory("emg-cli-").FullName;
        SimulatedRecording rec = Session(Path.Combine(folder, "recordings"));
        var summary = await CliTests.Emg("summary", rec.Path, "--json", rec.Path + ".summary.json");
        var report = await CliTests.Emg("report", rec.Path);
        string trendHtml = Path.Combine(folder, "trend.html");
        var trend = await CliTests.Emg("trend", "P-7F3A", "--folder", folder, "--html", trendHtml);
        var other = await CliTests.Emg("trend", "P-0000", "--folder", folder);
        var bad = await CliTests.Emg("trend", "../etc", "--folder", folder);

        Assert.True(summary.ExitCode == 0, summary.Errors);
        Assert.True(report.ExitCode == 0, report.Errors);
        Assert.Contains("<svg class=\"plot\"", await File.ReadAllTextAsync(rec.Path + ".report.html"), StringComparison.Ordinal);
        Assert.True(trend.ExitCode == 0, trend.Errors);
        Assert.StartsWith("Patient P-7F3A: 1 session\n", trend.Output, StringComparison.Ordinal);
        Assert.Matches(@"\n\d{4}-\d\d-\d\d  S0042 .*\s30\n", trend.Output);
        Assert.Contains(">TWSTRS total<", await File.ReadAllTextAsync(trendHtml), StringComparison.Ordinal);
        Assert.Equal(1, other.ExitCode);
        Assert.Contains("No session summaries of patient P-0000", other.Errors, StringComparison.Ordinal);
        Assert.Equal(2, bad.ExitCode);
        Assert.StartsWith("error:", bad.Errors.Trim(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Outputs_over_the_input_and_foreign_or_missing_files_get_one_clear_error_line()
    {
        string folder = Directory.CreateTempSubdirectory("emg-cli-").FullName;
        SimulatedRecording rec = Session(folder);
        byte[] before = await File.ReadAllBytesAsync(rec.Path);
        string foreign = Path.Combine(folder, "notes.bdf");
        await File.WriteAllTextAsync(foreign, "this is not a recording");

        var overInput = await CliTests.Emg("summary", rec.Path, "--report", rec.Path);
        var overInputReport = await CliTests.Emg("report", rec.Path, "-o", rec.Path);
        var missing = await CliTests.Emg("summary", Path.Combine(folder, "nothing.bdf"));
        var wrong = await CliTests.Emg("report", foreign);

        foreach (var run in new[] { overInput, overInputReport, missing, wrong })
        {
            Assert.Equal(2, run.ExitCode);
            Assert.StartsWith("error:", run.Errors.Trim(), StringComparison.Ordinal);
            Assert.Single(run.Errors.Trim().Split('\n'));
        }
        Assert.Contains("is the input file", overInput.Errors, StringComparison.Ordinal);
        Assert.Equal(before, await File.ReadAllBytesAsync(rec.Path));
    }
}
