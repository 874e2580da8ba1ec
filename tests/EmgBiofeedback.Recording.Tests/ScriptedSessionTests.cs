using System.Globalization;
using System.Text;
using System.Text.Json;

namespace EmgBiofeedback.Recording.Tests;

/// <summary>
/// A scripted session with ground truth: four muscles, rest, guided MVC per muscle, three work/rest trials at known %MVC,
/// a sensory trick that halves one muscle's activity; written as a CSV of counts and a BIDS events file, imported with
/// `emg import --events` and analysed with `emg summary`: every index within the issue's tolerance of the script.
/// </summary>
public sealed class ScriptedSessionTests : IDisposable
{
    private const int Rate = 1000;
    private const double MvcUv = 200; // RMS of a maximal contraction at the electrodes
    private const double NoiseUv = 3;  // RMS at rest
    private static readonly string[] Labels = ["SCM L", "SCM R", "UT L", "UT R"];

    // %MVC per muscle in each trial's work period (SCM L, SCM R, UT L, UT R); rest periods at 5 %MVC.
    private static readonly double[][] Work = [[40, 20, 10, 10], [30, 35, 10, 10], [25, 50, 8, 12]];
    private const double RestPct = 5;

    private readonly string _folder = Directory.CreateTempSubdirectory("emg-scripted-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>The script: per instant the RMS (µV) each muscle has, and the events, as a clinician would have marked them.</summary>
    internal static (double[][] Amplitude, List<(double Onset, double? Duration, string Text)> Events, double Seconds) Script()
    {
        var events = new List<(double, double?, string)>();
        double seconds = 262;
        int n = (int)(seconds * Rate);
        var amp = Enumerable.Range(0, 4).Select(_ => Enumerable.Repeat(NoiseUv, n).ToArray()).ToArray();
        void Set(int muscle, double from, double to, double pct)
        {
            for (int i = (int)(from * Rate); i < (int)(to * Rate); i++)
            {
                amp[muscle][i] = Math.Max(NoiseUv, pct / 100 * MvcUv);
            }
        }
        events.Add((5, 10, "calibration rest"));
        for (int m = 0; m < 4; m++)
        {
            for (int k = 0; k < 3; k++)
            {
                double t0 = 20 + m * 30 + k * 10;
                Set(m, t0, t0 + 5, 100);
                events.Add((t0, 5, $"calibration mvc {Labels[m]}"));
            }
        }
        events.Add((140, null, "target SCM L below 20"));
        events.Add((140, null, "target SCM R above 30"));
        events.Add((140, null, "target UT L below 15"));
        events.Add((140, null, "target UT R below 15"));
        for (int m = 0; m < 4; m++)
        {
            Set(m, 140, 160, RestPct);
        }
        events.Add((140, 20, "baseline pre"));
        for (int t = 0; t < 3; t++)
        {
            double w = 160 + t * 20;
            for (int m = 0; m < 4; m++)
            {
                Set(m, w, w + 10, Work[t][m]);
                Set(m, w + 10, w + 20, RestPct);
            }
            events.Add((w, 10, $"trial {t + 1} work"));
            events.Add((w + 10, 10, $"trial {t + 1} rest"));
        }
        // Trial 2: UT L spends half of its work period above its 15 %MVC target (5 s at 25 %MVC).
        Set(2, 185, 190, 25);
        // The sensory trick at 230 s halves SCM L (40 -> 20 %MVC); the others stay at 10 %MVC.
        Set(0, 220, 230, 40);
        Set(0, 230, 240, 20);
        for (int m = 1; m < 4; m++)
        {
            Set(m, 220, 240, 10);
        }
        events.Add((230, null, "sensory trick"));
        for (int m = 0; m < 4; m++)
        {
            Set(m, 240, 260, 4);
        }
        events.Add((240, 20, "baseline post"));
        return (amp, events, seconds);
    }

    /// <summary>Writes the script as a CSV of 16-bit counts (Gaussian noise at each instant's RMS) and a BIDS events file.</summary>
    internal static (string Csv, string Events) Write(string folder)
    {
        (double[][] amp, var events, double seconds) = Script();
        var rng = new Random(16);
        double uvPerCount = 3300.0 * 1000 / 65536 / 1000; // --bits 16 --reference-mv 3300 --gain 1000
        string csv = Path.Combine(folder, "session.csv");
        using (var w = new StreamWriter(csv, false, new UTF8Encoding(false)))
        {
            w.Write("time_s," + string.Join(',', Labels) + "\n");
            var line = new StringBuilder();
            for (int i = 0; i < (int)(seconds * Rate); i++)
            {
                line.Clear().Append((i / (double)Rate).ToString("0.###", CultureInfo.InvariantCulture));
                for (int m = 0; m < 4; m++)
                {
                    double g = Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
                    int count = (int)Math.Round(32768 + g * amp[m][i] / uvPerCount);
                    line.Append(',').Append(Math.Clamp(count, 0, 65535));
                }
                w.Write(line.Append('\n'));
            }
        }
        string tsv = Path.Combine(folder, "events.tsv");
        File.WriteAllText(tsv, "onset\tduration\ttrial_type\n" + string.Concat(events.Select(e =>
            string.Create(CultureInfo.InvariantCulture, $"{e.Onset}\t{(e.Duration is { } d ? d.ToString(CultureInfo.InvariantCulture) : "n/a")}\t{e.Text}\n"))));
        return (csv, tsv);
    }

    [Fact]
    public async Task A_scripted_session_imported_with_events_gives_every_index_within_tolerance_of_the_script()
    {
        (string csv, string tsv) = Write(_folder);
        string bdf = Path.Combine(_folder, "session.bdf");
        var import = await CliTests.Emg("import", csv, "--out", bdf, "--bits", "16", "--reference-mv", "3300", "--gain", "1000", "--events", tsv);
        Assert.True(import.ExitCode == 0, import.Errors + import.Output);
        string json = Path.Combine(_folder, "summary.json");
        var summary = await CliTests.Emg("summary", bdf, "--json", json);
        Assert.True(summary.ExitCode == 0, summary.Errors + summary.Output);

        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(json));
        JsonElement root = doc.RootElement;
        Assert.Equal("emg-session-summary/1", root.GetProperty("schema").GetString());
        foreach (string label in Labels)
        {
            JsonElement cal = root.GetProperty("calibration").GetProperty(label);
            Assert.True(cal.GetProperty("mvc_uv").GetDouble() > 10 * cal.GetProperty("rest_uv").GetDouble(), label);
            Assert.Contains("median over 3", cal.GetProperty("method").GetString(), StringComparison.Ordinal);
        }
        JsonElement trials = root.GetProperty("trials");
        Assert.Equal(3, trials.GetArrayLength());
        for (int t = 0; t < 3; t++)
        {
            JsonElement trial = trials[t];
            Assert.Equal(t + 1, trial.GetProperty("n").GetInt32());
            for (int m = 0; m < 4; m++)
            {
                double expected = t == 1 && m == 2 ? (10 + 25) / 2.0 : Work[t][m];
                double mean = trial.GetProperty("work").GetProperty(Labels[m]).GetProperty("mean_pct_mvc").GetDouble();
                Assert.True(Math.Abs(mean - expected) <= 8, $"trial {t + 1} {Labels[m]} work: {mean:0.0} %MVC, script {expected}");
                double rest = trial.GetProperty("rest").GetProperty(Labels[m]).GetProperty("mean_pct_mvc").GetDouble();
                Assert.True(Math.Abs(rest - RestPct) <= 8, $"trial {t + 1} {Labels[m]} rest: {rest:0.0} %MVC, script {RestPct}");
            }
            double scm = (Work[t][0] - Work[t][1]) / (Work[t][0] + Work[t][1]);
            double ut = t == 1 ? (17.5 - Work[t][3]) / (17.5 + Work[t][3]) : (Work[t][2] - Work[t][3]) / (Work[t][2] + Work[t][3]);
            Assert.True(Math.Abs(trial.GetProperty("asymmetry").GetProperty("SCM").GetDouble() - scm) <= 0.08, $"trial {t + 1} SCM asymmetry");
            Assert.True(Math.Abs(trial.GetProperty("asymmetry").GetProperty("UT").GetDouble() - ut) <= 0.08, $"trial {t + 1} UT asymmetry");

            // Time in target: SCM L (below 20) is never inside while working at 25-40; SCM R (above 30) is inside in
            // trials 2 and 3 only; UT R (below 15) always; UT L (below 15) half of trial 2 and all of the others.
            double[] expectedTime = [0, Work[t][1] > 30 ? 1 : 0, t == 1 ? 0.5 : 1, 1];
            for (int m = 0; m < 4; m++)
            {
                double time = trial.GetProperty("work").GetProperty(Labels[m]).GetProperty("time_in_target").GetDouble();
                Assert.True(Math.Abs(time - expectedTime[m]) <= 0.05, $"trial {t + 1} {Labels[m]} time in target {time:0.000}, script {expectedTime[m]}");
            }
        }
        JsonElement marker = Assert.Single(root.GetProperty("markers").EnumerateArray());
        Assert.Equal("sensory trick", marker.GetProperty("label").GetString());
        Assert.Equal(230, marker.GetProperty("time_s").GetDouble(), 3);
        double change = marker.GetProperty("effect").GetProperty("SCM L").GetProperty("change").GetDouble();
        Assert.True(Math.Abs(change - -0.5) <= 0.1, $"sensory trick on SCM L: change {change:0.000}, script -0.5");
        double other = marker.GetProperty("effect").GetProperty("UT R").GetProperty("change").GetDouble();
        Assert.True(Math.Abs(other) <= 0.1, $"sensory trick on UT R: change {other:0.000}, script 0");
        double pre = root.GetProperty("baseline").GetProperty("pre").GetProperty("SCM L").GetProperty("mean_pct_mvc").GetDouble();
        double post = root.GetProperty("baseline").GetProperty("post").GetProperty("SCM L").GetProperty("mean_pct_mvc").GetDouble();
        Assert.True(Math.Abs(pre - RestPct) <= 8 && Math.Abs(post - 4) <= 8, $"baselines {pre:0.0} / {post:0.0}");
    }
}
