using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace EmgBiofeedback.Acquisition.Tests;

/// <summary>
/// The real firmware (firmware/emg_board) built from source with avr-gcc and run in simavr by the
/// project's harness (firmware/sim/emg_sim.c), its UART bridged to a pseudo-terminal.
/// </summary>
public sealed partial class FirmwareSimulator : IAsyncDisposable
{
    private static readonly Lazy<string> Built = new(Build);
    private readonly Process _process;
    private readonly List<string> _stderr = [];

    private FirmwareSimulator(Process process, string pty)
    {
        _process = process;
        Pty = pty;
    }

    public string Pty { get; }

    /// <summary>The injected signal: 10-bit counts, as the harness derives them from the input file.</summary>
    public static int[] LoadInput(string path, int inputBits) =>
        File.ReadLines(path)
            .Select(l => l.Trim())
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => (int)double.Parse(l, CultureInfo.InvariantCulture) >> (inputBits - 10))
            .ToArray();

    /// <summary>Channel k at sequence number seq reads src[(seq + k x offset) mod L] (firmware/README.md).</summary>
    public static int Expected(int[] source, uint sequence, int channel, int offset = 1000) =>
        source[(int)((sequence + (ulong)channel * (ulong)offset) % (ulong)source.Length)];

    public static async Task<FirmwareSimulator> StartAsync(params string[] arguments)
    {
        string harness = Built.Value;
        var start = new ProcessStartInfo(harness) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in arguments)
        {
            start.ArgumentList.Add(a);
        }
        Process process = Process.Start(start) ?? throw new InvalidOperationException("emg_sim did not start");
        string? first = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
        if (first is null || !first.StartsWith("PTY ", StringComparison.Ordinal))
        {
            process.Kill();
            throw new InvalidOperationException($"emg_sim printed '{first}' instead of 'PTY <path>': {await process.StandardError.ReadToEndAsync()}");
        }
        var simulator = new FirmwareSimulator(process, first[4..].Trim());
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (simulator._stderr) { simulator._stderr.Add(e.Data); } } };
        process.BeginErrorReadLine();
        return simulator;
    }

    /// <summary>Stops the harness (SIGTERM, as documented) and returns its final STATS line's fields.</summary>
    public async Task<IReadOnlyDictionary<string, string>> StopAsync(TimeSpan timeout)
    {
        Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)])!.WaitForExit();
        await _process.WaitForExitAsync().WaitAsync(timeout);
        _process.WaitForExit();
        Assert.Equal(0, _process.ExitCode);
        string stats;
        lock (_stderr)
        {
            stats = _stderr.Last(l => l.StartsWith("STATS ", StringComparison.Ordinal));
        }
        return StatsField().Matches(stats).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }

    private static string Build()
    {
        string firmware = Path.Combine(RepositoryPaths.Root, "firmware");
        var make = Process.Start(new ProcessStartInfo("make", ["-C", firmware]) { RedirectStandardOutput = true, RedirectStandardError = true })
            ?? throw new InvalidOperationException("make did not start");
        string output = make.StandardOutput.ReadToEnd() + make.StandardError.ReadToEnd();
        make.WaitForExit();
        if (make.ExitCode != 0)
        {
            throw new InvalidOperationException($"make -C firmware failed (tests/run-all.sh installs gcc-avr, avr-libc, libsimavr-dev, libelf-dev):\n{output}");
        }
        return Path.Combine(firmware, "build", "emg_sim");
    }

    [GeneratedRegex(@"(\w+)=(\S+)")]
    private static partial Regex StatsField();
}
