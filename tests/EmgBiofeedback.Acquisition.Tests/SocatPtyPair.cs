using System.Diagnostics;

namespace EmgBiofeedback.Acquisition.Tests;

/// <summary>
/// A real pseudo-terminal pair made by socat, with stable link names: <see cref="BoardEnd"/> is where the
/// (simulated) board writes, <see cref="HostEnd"/> is the serial device the host opens. Stopping socat
/// removes both devices, the closest stand-in for pulling the USB cable.
/// </summary>
public sealed class SocatPtyPair : IAsyncDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("emg-pty-").FullName;
    private Process? _socat;

    public string BoardEnd => Path.Combine(_directory, "board");
    public string HostEnd => Path.Combine(_directory, "host");

    public static async Task<SocatPtyPair> StartAsync()
    {
        var pair = new SocatPtyPair();
        await pair.PlugInAsync();
        return pair;
    }

    public async Task PlugInAsync()
    {
        const string socat = "/usr/bin/socat";
        if (!File.Exists(socat))
        {
            throw new InvalidOperationException("socat is not installed: run tests/run-all.sh, which installs it (apt-get install socat).");
        }
        var start = new ProcessStartInfo(socat)
        {
            ArgumentList = { "-d", "-d", $"pty,raw,echo=0,link={BoardEnd}", $"pty,raw,echo=0,link={HostEnd}" },
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        _socat = Process.Start(start) ?? throw new InvalidOperationException("socat did not start");
        _socat.ErrorDataReceived += (_, _) => { };
        _socat.BeginErrorReadLine();
        await Eventually.TrueAsync(() => File.Exists(BoardEnd) && File.Exists(HostEnd), TimeSpan.FromSeconds(10), "socat's pty links");
    }

    /// <summary>Stops socat (SIGTERM, so it removes its links) and waits until both devices are gone.</summary>
    public async Task UnplugAsync()
    {
        if (_socat is null)
        {
            return;
        }
        Process.Start("kill", ["-TERM", _socat.Id.ToString()])!.WaitForExit();
        await _socat.WaitForExitAsync();
        _socat.Dispose();
        _socat = null;
        await Eventually.TrueAsync(() => !File.Exists(BoardEnd) && !File.Exists(HostEnd), TimeSpan.FromSeconds(10), "pty links removed");
    }

    public async ValueTask DisposeAsync()
    {
        await UnplugAsync();
        Directory.Delete(_directory, recursive: true);
    }
}
