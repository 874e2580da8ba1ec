using System.Diagnostics;

namespace EmgBiofeedback.Recording.Tests;

/// <summary>`emg backfill`: a recorded session's activation into a real history server (victoria-metrics).</summary>
public class BackfillTests
{
    [Fact]
    public async Task Backfill_writes_every_activation_frame_of_a_recording_tagged_with_its_session()
    {
        string folder = Directory.CreateTempSubdirectory("emg-backfill-").FullName;
        SimulatedRecording recording = SimulatedRecording.Make(folder, seconds: 20);
        await using VictoriaMetricsServer history = await VictoriaMetricsServer.StartAsync();

        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in (string[])[Path.Combine(AppContext.BaseDirectory, "emg.dll"), "backfill", recording.Path, "--url", history.Url, "--org", "clinic", "--bucket", "emg"])
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["EMG_HISTORY_TOKEN"] = "history-token-0123456789";
        using Process emg = Process.Start(psi)!;
        string output = await emg.StandardOutput.ReadToEndAsync();
        string errors = await emg.StandardError.ReadToEndAsync();
        await emg.WaitForExitAsync();

        Assert.True(emg.ExitCode == 0, errors);
        Assert.Contains("Wrote 8000 points (1000 activation frames) of session S0042", output, StringComparison.Ordinal);
        List<Series> stored = await history.ExportAsync("activation_rms_uv");
        Assert.Equal(8, stored.Count);
        Assert.All(stored, s =>
        {
            Assert.Equal(("S0042", "P-7F3A", "bench-2"), (s.Labels["session"], s.Labels["patient"], s.Labels["station"]));
            Assert.Equal(1000, s.Values.Length);
        });
        Assert.DoesNotContain("history-token", output + errors, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Backfill_without_a_token_is_refused_with_a_clear_message()
    {
        string folder = Directory.CreateTempSubdirectory("emg-backfill-").FullName;
        SimulatedRecording recording = SimulatedRecording.Make(folder, seconds: 2);
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in (string[])[Path.Combine(AppContext.BaseDirectory, "emg.dll"), "backfill", recording.Path, "--url", "http://127.0.0.1:9", "--bucket", "emg"])
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment.Remove("EMG_HISTORY_TOKEN");
        using Process emg = Process.Start(psi)!;
        string errors = await emg.StandardError.ReadToEndAsync();
        await emg.WaitForExitAsync();

        Assert.Equal(2, emg.ExitCode);
        Assert.Contains("Token", errors, StringComparison.Ordinal);
    }
}
