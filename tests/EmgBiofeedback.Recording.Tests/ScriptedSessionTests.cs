namespace EmgBiofeedback.Recording.Tests;

/// <summary>
/// The scripted session with ground truth (<see cref="ScriptedSession"/>), imported with `emg import --events` and
/// analysed with `emg summary`: every index within the tolerance of the script.
/// </summary>
public sealed class ScriptedSessionTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("emg-scripted-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>The script written, imported with `emg import --events` and summarised with `emg summary`: its summary JSON.</summary>
    private async Task<string> ImportedSummaryAsync()
    {
        (string csv, string tsv) = ScriptedSession.Write(_folder);
        string bdf = Path.Combine(_folder, "session.bdf");
        var import = await CliTests.Emg("import", csv, "--out", bdf, "--bits", "16", "--reference-mv", "3300", "--gain", "1000", "--events", tsv);
        Assert.True(import.ExitCode == 0, import.Errors + import.Output);
        string json = Path.Combine(_folder, "summary.json");
        var summary = await CliTests.Emg("summary", bdf, "--json", json);
        Assert.True(summary.ExitCode == 0, summary.Errors + summary.Output);
        return File.ReadAllText(json);
    }

    [Fact]
    public async Task A_scripted_session_imported_with_events_gives_every_index_within_tolerance_of_the_script()
    {
        Assert.Empty(ScriptedSession.Check(await ImportedSummaryAsync()));
    }

    [Fact]
    public async Task The_script_check_expects_the_script_where_the_protocol_started_so_a_summary_of_other_periods_fails()
    {
        string text = await ImportedSummaryAsync();

        // The summary of periods from 140 s, checked as if the protocol had started 3 s later: trial 3's SCM R work
        // (50 %MVC over 200-210 s) is then expected at 36.5 (7 s of work, 3 s of rest).
        List<string> problems = ScriptedSession.Check(text, ScriptedSession.TargetsAt + 3, ScriptedSession.MarkerSeconds + 3);
        Assert.Contains(problems, p => p.StartsWith("trial 3 SCM R work %MVC", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_script_check_fails_a_summary_that_is_off_by_more_than_the_tolerance()
    {
        string text = await ImportedSummaryAsync();
        var doc = System.Text.Json.Nodes.JsonNode.Parse(text)!;
        doc["trials"]![0]!["work"]!["SCM L"]!["mean_pct_mvc"] = 55.0; // 15 points off the script's 40
        doc["markers"]![0]!["effect"]!["SCM L"]!["change"] = -0.3;
        List<string> problems = ScriptedSession.Check(doc.ToJsonString());
        Assert.Equal(2, problems.Count);
        Assert.Contains(problems, p => p.StartsWith("trial 1 SCM L work %MVC", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("sensory trick on SCM L", StringComparison.Ordinal));
    }
}
