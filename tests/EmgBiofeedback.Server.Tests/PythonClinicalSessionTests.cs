using System.Diagnostics;
using System.Text.Json;
using EmgBiofeedback.Sessions;

namespace EmgBiofeedback.Server.Tests;

/// <summary>
/// A whole clinical session driven by a client nobody on this project wrote the library of (python/clinical_session.py
/// on Debian's python3-grpcio) against the real service on its simulated board: signal check, rest and MVC
/// calibration, the patient's stored calibration reused, targets, a saved protocol to its end, a marker, stop; then
/// the printable report fetched from the browser port and printed by Chromium on one A4 page.
/// </summary>
public class PythonClinicalSessionTests
{
    private static readonly string[] Labels = ["SCM L", "SCM R", "UT L", "UT R"];

    [Fact]
    public async Task A_python_client_runs_a_whole_clinical_session_and_its_report_prints_on_one_page()
    {
        string folder = Directory.CreateTempSubdirectory("emg-py-clinical-").FullName;
        try
        {
            const string patient = "P-PY-0001";
            // The patient's calibration from an earlier session, stored before the service starts: ReuseCalibration then has
            // something to reuse whatever the simulated muscles do in this session's MVC steps.
            var store = new CalibrationStore(folder);
            var calibratedAt = new DateTimeOffset(2026, 11, 20, 9, 30, 0, TimeSpan.Zero);
            store.Save(ClinicalServer.Station, patient, ClinicalServer.Calibration(8.5, 120.25, calibratedAt, Labels));
            StoredCalibration seeded = store.Load(ClinicalServer.Station, patient)!;

            JsonElement run;
            string report;
            await using (ClinicalServer server = ClinicalServer.Start(folder, null, "--Sessions:MarkerWindowSeconds=2"))
            {
                (int exit, run, string errors) = await PythonScript.RunAsync("clinical_session.py", TimeSpan.FromMinutes(3), server.Target, patient);
                Assert.True(exit == 0, $"clinical_session.py failed ({exit}): {run.GetRawText()}\n{errors}\nServer:\n{server.Process.Log()}");

                // The response of StartSession offered the stored calibration.
                Assert.Equal(Nanoseconds(seeded.SavedAt), run.GetProperty("session").GetProperty("stored_calibration_saved_at_ns").GetInt64());
                Assert.Equal("default", run.GetProperty("session").GetProperty("montage_name").GetString());
                Assert.Contains("py-short", run.GetProperty("protocols").EnumerateArray().Select(p => p.GetString()));

                AssertCalibrationSteps(run);
                AssertEvents(run.GetProperty("events"));
                AssertStoredAndReused(run, seeded);
                AssertSummary(run, patient);

                // The report: over HTTP from the browser port, as a browser would fetch it.
                string url = run.GetProperty("summary").GetProperty("report_url").GetString()!;
                Assert.Equal($"/sessions/{run.GetProperty("session").GetProperty("session_id").GetString()}/report", url);
                using var http = new HttpClient { BaseAddress = new Uri(server.BrowserAddress) };
                using HttpResponseMessage response = await http.GetAsync(url);
                Assert.True(response.IsSuccessStatusCode,
                    $"GET {url} on the browser port: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()} " +
                    $"(the report \"<recording>.report.html\" is written by SessionManager on stop; files: {string.Join(", ", Directory.GetFiles(folder).Select(Path.GetFileName))})");
                Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
                report = await response.Content.ReadAsStringAsync();
            }

            AssertPrintsOnOnePage(folder, report);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static long Nanoseconds(DateTimeOffset time) => (time - DateTimeOffset.UnixEpoch).Ticks * 100;

    private static void AssertCalibrationSteps(JsonElement run)
    {
        // The simulated board may or may not pass the signal check; refused, it says which channel and why.
        JsonElement check = run.GetProperty("signal_check");
        if (!check.GetProperty("accepted").GetBoolean())
        {
            Assert.NotEmpty(check.GetProperty("refusals").EnumerateArray());
            foreach (JsonElement r in check.GetProperty("refusals").EnumerateArray())
            {
                Assert.Contains(r.GetProperty("label").GetString(), Labels);
                Assert.False(string.IsNullOrWhiteSpace(r.GetProperty("reason").GetString()));
            }
        }
        JsonElement rest = run.GetProperty("rest");
        Assert.True(rest.GetProperty("accepted").GetBoolean() || rest.GetProperty("refusals").GetArrayLength() > 0, rest.GetRawText());
        foreach (string label in Labels)
        {
            JsonElement mvc = run.GetProperty("mvc").GetProperty(label);
            if (mvc.GetProperty("accepted").GetBoolean())
            {
                JsonElement c = Assert.Single(mvc.GetProperty("calibrations").EnumerateArray());
                Assert.Equal(label, c.GetProperty("label").GetString());
                Assert.True(c.GetProperty("mvc_uv").GetDouble() > c.GetProperty("rest_uv").GetDouble());
                Assert.StartsWith("median over 2 isometric MVCs of 1 s", c.GetProperty("method").GetString(), StringComparison.Ordinal);
            }
            else
            {
                // e.g. "MVC 7.8 µV is not clearly above rest 8.2 µV": refused with a reason for this muscle.
                JsonElement r = Assert.Single(mvc.GetProperty("refusals").EnumerateArray());
                Assert.Equal(label, r.GetProperty("label").GetString());
                Assert.False(string.IsNullOrWhiteSpace(r.GetProperty("reason").GetString()));
            }
        }
        Assert.Equal(["target SCM L below 20", "target SCM R above 10"], run.GetProperty("targets").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal("Protocol py-short", run.GetProperty("protocol_running").GetString());
    }

    private static void AssertEvents(JsonElement events)
    {
        var all = events.EnumerateArray().ToList();
        Assert.DoesNotContain(all, e => e.GetProperty("kind").GetString() == "STREAM_ERROR");
        Assert.Equal("EVENT_KIND_SESSION_STARTED", all[0].GetProperty("kind").GetString());
        Assert.Equal("EVENT_KIND_SESSION_STOPPED", all[^1].GetProperty("kind").GetString());

        // The protocol's phases, in order, each with its trial, the number of trials and its length.
        var phases = all.Where(e => e.GetProperty("kind").GetString() == "EVENT_KIND_PROTOCOL_PHASE")
            .Select(e => (e.GetProperty("phase").GetString(), e.GetProperty("trial").GetUInt32(), e.GetProperty("trials").GetUInt32(), e.GetProperty("seconds_left").GetDouble()))
            .ToList();
        var expected = new List<(string?, uint, uint, double)> { ("PHASE_BASELINE_PRE", 0, 3, 2) };
        for (uint n = 1; n <= 3; n++)
        {
            expected.Add(("PHASE_WORK", n, 3, 2));
            expected.Add(("PHASE_REST", n, 3, 2));
        }
        expected.Add(("PHASE_BASELINE_POST", 0, 3, 2));
        expected.Add(("PHASE_DONE", 0, 3, 0));
        Assert.Equal(expected, phases);
        var work = all.First(e => e.GetProperty("phase").GetString() == "PHASE_WORK");
        Assert.Equal("Turn the head slowly", work.GetProperty("instruction").GetString());

        // The MVC steps' prompts: two contractions of 1 s each, with 1 s of rest between, per muscle.
        foreach (string label in Labels)
        {
            var prompts = all.Where(e => e.GetProperty("kind").GetString() == "EVENT_KIND_CALIBRATION_PROMPT" && e.GetProperty("label").GetString() == label).ToList();
            var contractions = prompts.Where(p => p.GetProperty("instruction").GetString()!.StartsWith("Contract", StringComparison.Ordinal)).ToList();
            Assert.Equal([1u, 2u], contractions.Select(p => p.GetProperty("trial").GetUInt32()));
            Assert.All(prompts, p => Assert.Equal(2u, p.GetProperty("trials").GetUInt32()));
            Assert.All(prompts, p => Assert.Equal(1.0, p.GetProperty("seconds_left").GetDouble()));
            Assert.Contains(label, contractions[0].GetProperty("instruction").GetString(), StringComparison.Ordinal);
            Assert.Single(all, e => e.GetProperty("kind").GetString() == "EVENT_KIND_CALIBRATION_RESULT" && e.GetProperty("label").GetString() == label && e.GetProperty("step_done").GetBoolean());
        }
        Assert.Contains(all, e => e.GetProperty("kind").GetString() == "EVENT_KIND_MARKER" && e.GetProperty("label").GetString() == "sensory trick");
    }

    /// <summary>
    /// What the store offers after this session's steps: the muscles calibrated now with their new values, every other
    /// muscle with the stored values (a rest step or a refused MVC does not take a muscle's stored calibration away).
    /// ReuseCalibration applies exactly that.
    /// </summary>
    private static void AssertStoredAndReused(JsonElement run, StoredCalibration seeded)
    {
        var calibratedNow = Labels.Where(l => run.GetProperty("mvc").GetProperty(l).GetProperty("accepted").GetBoolean())
            .ToDictionary(l => l, l => run.GetProperty("mvc").GetProperty(l).GetProperty("calibrations")[0]);
        JsonElement stored = run.GetProperty("stored_before_reuse");
        JsonElement reused = run.GetProperty("reused");
        Assert.Equal(stored.GetRawText(), reused.GetRawText());
        var muscles = stored.GetProperty("muscles").EnumerateArray().ToDictionary(m => m.GetProperty("label").GetString()!);
        Assert.True(Labels.All(muscles.ContainsKey),
            $"The stored calibration lost muscles: it holds {string.Join(", ", muscles.Keys)} after this session's steps " +
            $"(accepted MVC: {string.Join(", ", calibratedNow.Keys)}); seeded with {string.Join(", ", seeded.Muscles.Keys)}.");
        foreach (string label in Labels)
        {
            JsonElement m = muscles[label];
            if (calibratedNow.TryGetValue(label, out JsonElement now))
            {
                Assert.Equal(now.GetProperty("mvc_uv").GetDouble(), m.GetProperty("mvc_uv").GetDouble());
                Assert.Equal(now.GetProperty("rest_uv").GetDouble(), m.GetProperty("rest_uv").GetDouble());
            }
            else
            {
                Assert.Equal(seeded.Muscles[label].MvcMicrovolts, m.GetProperty("mvc_uv").GetDouble());
                Assert.Equal(seeded.Muscles[label].RestMicrovolts, m.GetProperty("rest_uv").GetDouble());
                Assert.Equal(seeded.Muscles[label].Method, m.GetProperty("method").GetString());
                Assert.Equal(Nanoseconds(seeded.Muscles[label].CalibratedAt), m.GetProperty("calibrated_at_ns").GetInt64());
            }
        }
    }

    private static void AssertSummary(JsonElement run, string patient)
    {
        JsonElement s = run.GetProperty("summary");
        Assert.True(s.GetProperty("stopped").GetBoolean());
        Assert.Equal(1, s.GetProperty("markers").GetInt32());
        Assert.True(File.Exists(s.GetProperty("recording_path").GetString()));
        Assert.Equal(SessionManager.SummaryPath(s.GetProperty("recording_path").GetString()!), s.GetProperty("summary_path").GetString());
        Assert.True(File.Exists(s.GetProperty("summary_path").GetString()));

        using JsonDocument doc = JsonDocument.Parse(s.GetProperty("summary_json").GetString()!);
        JsonElement summary = doc.RootElement;
        Assert.Equal("emg-session-summary/1", summary.GetProperty("schema").GetString());
        Assert.Equal(patient, summary.GetProperty("session").GetProperty("patient_code").GetString());
        Assert.Equal(File.ReadAllText(s.GetProperty("summary_path").GetString()!), s.GetProperty("summary_json").GetString());

        // The reused calibration, per muscle, with how it was obtained.
        var reused = run.GetProperty("reused").GetProperty("muscles").EnumerateArray().ToDictionary(m => m.GetProperty("label").GetString()!);
        JsonElement calibration = summary.GetProperty("calibration");
        foreach (string label in Labels)
        {
            Assert.True(calibration.TryGetProperty(label, out JsonElement c), $"summary calibration has no {label}: {calibration.GetRawText()}");
            Assert.Equal(reused[label].GetProperty("rest_uv").GetDouble(), c.GetProperty("rest_uv").GetDouble());
            Assert.Equal(reused[label].GetProperty("mvc_uv").GetDouble(), c.GetProperty("mvc_uv").GetDouble());
            Assert.Equal(MuscleCalibration.ReusedMethod, c.GetProperty("method").GetString());
        }

        // Three trials, each with work and rest per muscle, %MVC and time in target; asymmetry for both pairs.
        var trials = summary.GetProperty("trials").EnumerateArray().ToList();
        Assert.Equal([1, 2, 3], trials.Select(t => t.GetProperty("n").GetInt32()));
        foreach (JsonElement t in trials)
        {
            foreach (string period in new[] { "work", "rest" })
            {
                foreach (string label in Labels)
                {
                    JsonElement p = t.GetProperty(period).GetProperty(label);
                    foreach (string key in new[] { "mean_pct_mvc", "peak_pct_mvc", "time_in_target" })
                    {
                        Assert.True(p.TryGetProperty(key, out _), $"trial {t.GetProperty("n")} {period} {label} has no {key}");
                    }
                    // Every muscle is calibrated (reused): its %MVC is a number.
                    Assert.Equal(JsonValueKind.Number, p.GetProperty("mean_pct_mvc").ValueKind);
                    Assert.Equal(JsonValueKind.Number, p.GetProperty("peak_pct_mvc").ValueKind);
                }
                // The muscles with a target have a time in target.
                Assert.InRange(t.GetProperty(period).GetProperty("SCM L").GetProperty("time_in_target").GetDouble(), 0, 1);
                Assert.InRange(t.GetProperty(period).GetProperty("SCM R").GetProperty("time_in_target").GetDouble(), 0, 1);
            }
            foreach (string muscle in new[] { "SCM", "UT" })
            {
                Assert.True(t.GetProperty("asymmetry").TryGetProperty(muscle, out JsonElement a), $"trial {t.GetProperty("n")} has no asymmetry for {muscle}");
                Assert.InRange(a.GetDouble(), -1, 1);
            }
        }

        JsonElement marker = summary.GetProperty("markers")[0];
        Assert.Equal("sensory trick", marker.GetProperty("label").GetString());
        foreach (string label in Labels)
        {
            JsonElement effect = marker.GetProperty("effect").GetProperty(label);
            foreach (string key in new[] { "before_pct_mvc", "after_pct_mvc", "change" })
            {
                Assert.True(effect.TryGetProperty(key, out _), $"marker effect of {label} has no {key}");
            }
        }
    }

    /// <summary>Chromium prints the report to PDF (one page) and takes a screenshot at A4's proportions (docs/report-example.png).</summary>
    private static void AssertPrintsOnOnePage(string folder, string report)
    {
        string html = Path.Combine(folder, "report.html");
        File.WriteAllText(html, report);
        string pdf = Path.Combine(folder, "report.pdf");
        string png = Path.Combine(folder, "report.png");
        Chromium(folder, $"--print-to-pdf={pdf}", "--no-pdf-header-footer", new Uri(html).AbsoluteUri);
        Assert.True(File.Exists(pdf), "Chromium wrote no PDF");
        string info = Run("/usr/bin/pdfinfo", pdf);
        Assert.Matches(@"(?m)^Pages:\s+1$", info);

        Chromium(folder, $"--screenshot={png}", "--window-size=1240,1754", new Uri(html).AbsoluteUri);
        Assert.True(File.Exists(png) && new FileInfo(png).Length > 0, "Chromium wrote no screenshot");
        if (Environment.GetEnvironmentVariable("EMG_UPDATE_DOCS") == "1")
        {
            File.Copy(png, Path.Combine(RepositoryPaths.Root, "docs", "report-example.png"), overwrite: true);
        }
    }

    private static void Chromium(string folder, params string[] arguments)
    {
        string profile = Directory.CreateTempSubdirectory("emg-chromium-").FullName;
        try
        {
            Run("/usr/bin/chromium", ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", $"--user-data-dir={profile}", .. arguments]);
        }
        finally
        {
            Directory.Delete(profile, recursive: true);
        }
    }

    private static string Run(string program, params string[] arguments)
    {
        if (!File.Exists(program))
        {
            throw new InvalidOperationException($"{program} is missing: run tests/run-all.sh, which installs chromium and poppler-utils.");
        }
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in arguments)
        {
            start.ArgumentList.Add(a);
        }
        using Process process = Process.Start(start)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(90)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} did not end within 90 s");
        }
        Assert.True(process.ExitCode == 0, $"{program} {string.Join(' ', arguments)} failed ({process.ExitCode}): {stderr.Result}");
        return stdout.Result;
    }
}
