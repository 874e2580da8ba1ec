using System.Diagnostics;
using System.Text.Json;

namespace EmgBiofeedback.Recording.Tests;

public sealed class CrashSafetyTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("emg-kill-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task A_recorder_killed_with_SIGKILL_leaves_every_flushed_second_readable_by_MNE()
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { Path.Combine(AppContext.BaseDirectory, "emg.dll"), "record-sim", "--seconds", "30", "--out", _folder })
        {
            psi.ArgumentList.Add(a);
        }
        using Process child = Process.Start(psi)!;
        long flushed = 0;
        string? path = null;
        while (flushed < 4)
        {
            string? line = await child.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.NotNull(line);
            string[] parts = line!.Split(' ', 3);
            if (parts[0] == "flushed")
            {
                flushed = long.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
                path = parts[2];
            }
        }
        child.Kill(); // SIGKILL on Unix: no handler, no finally, no flush
        await child.WaitForExitAsync();

        using (var reader = new BdfReader(path!))
        {
            Assert.True(reader.RecordCount >= flushed, $"{reader.RecordCount} records readable, {flushed} were flushed");
        }
        JsonElement mne = ReferenceReaders.Mne(path!);
        long samples = mne.GetProperty("n_times").GetInt64();
        Assert.True(samples >= flushed * 1000, $"MNE read {samples} samples; {flushed} s were flushed");
        Assert.Equal(8, mne.GetProperty("ch_names").GetArrayLength());

        // The samples are the simulated board's, from its first instant on (same seed, same stream).
        var board = new Acquisition.SimulatedBoard(new Acquisition.SimulatorOptions(), 200);
        var counts = new ushort[8];
        JsonElement ch0 = mne.GetProperty("data")[0];
        double scale = RecordingLayout.MicrovoltsPerCount(board.Describe(), 200);
        for (int i = 0; i < flushed * 1000; i++)
        {
            board.TrySampleNext(counts, out _);
            Assert.True(Math.Abs(ch0[i].GetDouble() - (counts[0] - 512) * scale) < 1e-3 * scale, $"instant {i}");
        }
    }
}
