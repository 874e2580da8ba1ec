using System.Diagnostics;
using System.Globalization;
using EmgBiofeedback.Acquisition.Tests;
using EmgBiofeedback.Contracts.V1;
using EmgBiofeedback.Server.Tests;
using Grpc.Net.Client;

namespace EmgBiofeedback.EndToEnd.Tests;

/// <summary>
/// Everything the end-to-end run starts, each a real component: the firmware in simavr (emg_sim, paced, fed the real
/// BioSPPy recording), the serial relay and the socat pty pair the service opens, Debian's victoria-metrics as the
/// history server, the service itself (built output with the display, history on, recordings in a small tmpfs), and
/// the clock-offset file of its test hook. The service can be killed and started again on the same ports and folders.
/// </summary>
public sealed class Station : IAsyncDisposable
{
    public const string StationName = "e2e";
    public const string Patient = "P-E2E-1";
    public static readonly string InputFile = RepositoryPaths.SharedData("biosppy-emg", "emg_1.txt");
    public const int InputBits = 12;

    private readonly List<string> _serverLogs = [];
    private ServerProcess? _server;
    private GrpcChannel? _control;

    private Station(string work)
    {
        Work = work;
        Recordings = Path.Combine(work, "recordings");
        Spool = Path.Combine(work, "spool");
        ClockOffsetFile = Path.Combine(work, "clock-offset");
        Directory.CreateDirectory(Recordings);
        Directory.CreateDirectory(Spool);
        File.WriteAllText(ClockOffsetFile, "0");
        GrpcUrl = $"http://127.0.0.1:{FreePorts.Next()}";
        BrowserUrl = $"http://127.0.0.1:{FreePorts.Next()}";
    }

    public string Work { get; }
    public string Recordings { get; }
    public string Spool { get; }
    public string ClockOffsetFile { get; }
    public string GrpcUrl { get; }
    public string BrowserUrl { get; }
    public long TmpfsBytes { get; private set; }
    public FirmwareSimulator Board { get; private set; } = null!;
    public SocatPtyPair Line { get; private set; } = null!;
    public SerialRelay Relay { get; private set; } = null!;
    public VictoriaMetricsServer History { get; private set; } = null!;
    public int[] Input { get; private set; } = [];
    public ServerProcess Server => _server ?? throw new InvalidOperationException("the service is not running");

    public bool ServerHasExited => _server?.HasExited ?? true;

    /// <summary>A control channel to the running service (recreated after a restart).</summary>
    public GrpcChannel Control => _control ?? throw new InvalidOperationException("the service is not running");

    public Live.LiveClient Live => new(Control);

    public Contracts.V1.Sessions.SessionsClient Sessions => new(Control);

    /// <summary>Every line every service process printed, across restarts.</summary>
    public string ServerLog()
    {
        lock (_serverLogs)
        {
            return string.Join('\n', _serverLogs.Append(_server?.Log() ?? ""));
        }
    }

    /// <summary>The directory of the built service with its patient display (dotnet build src/EmgBiofeedback.Server).</summary>
    public static string ServerDirectory()
    {
        foreach (string config in new[] { "Debug", "Release" })
        {
            string dir = Path.Combine(RepositoryPaths.Root, "src", "EmgBiofeedback.Server", "bin", config, "net10.0");
            if (File.Exists(Path.Combine(dir, "display", "index.html")) && File.Exists(Path.Combine(dir, "EmgBiofeedback.Server.dll")))
            {
                return dir;
            }
        }
        throw new InvalidOperationException("The service with its patient display is not built: run 'dotnet build EmgBiofeedback.sln' (or 'dotnet build src/EmgBiofeedback.Server') without SkipDisplayBuild.");
    }

    public static async Task<Station> StartAsync(long tmpfsBytes)
    {
        var station = new Station(Directory.CreateTempSubdirectory("emg-e2e-").FullName);
        await station.MountAsync(tmpfsBytes);
        station.SeedCalibration();
        station.Input = FirmwareSimulator.LoadInput(InputFile, InputBits);
        station.History = await VictoriaMetricsServer.StartAsync();
        station.Line = await SocatPtyPair.StartAsync();
        station.Board = await FirmwareSimulator.StartAsync("--input-bits", InputBits.ToString(CultureInfo.InvariantCulture), InputFile);
        station.Relay = await SerialRelay.StartAsync(station.Board.Pty, station.Line, seed: 18);
        await station.StartServiceAsync();
        return station;
    }

    /// <summary>The recordings folder on a tmpfs of its own, so that "disk full" fills only it (needs root, as in CI).</summary>
    private async Task MountAsync(long bytes)
    {
        using Process mount = Process.Start(new ProcessStartInfo("mount", ["-t", "tmpfs", "-o", $"size={bytes}", "tmpfs", Recordings]) { RedirectStandardError = true })!;
        string error = await mount.StandardError.ReadToEndAsync();
        await mount.WaitForExitAsync();
        if (mount.ExitCode != 0)
        {
            throw new InvalidOperationException($"mount -t tmpfs on {Recordings} was refused ({error.Trim()}): the disk-full fault needs root (the suite runs as root here and in CI).");
        }
        TmpfsBytes = bytes;
    }

    /// <summary>The patient's stored calibration (rest and MVC per muscle of the extended montage), as a previous session left it.</summary>
    private void SeedCalibration()
    {
        string folder = Path.Combine(Recordings, "calibrations", StationName);
        Directory.CreateDirectory(folder);
        string at = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture);
        string[] labels = ["SCM L", "SCM R", "UT L", "UT R", "SPL L", "SPL R", "LS L", "LS R"];
        string muscles = string.Join(",\n", labels.Select(l => $"    \"{l}\": {{ \"rest_uv\": 8, \"mvc_uv\": 120, \"method\": \"seeded by the end-to-end run\", \"calibrated_at\": \"{at}\" }}"));
        File.WriteAllText(Path.Combine(folder, Patient + ".json"),
            $"{{\n  \"schema\": \"emg-calibration/1\",\n  \"station\": \"{StationName}\",\n  \"patient_code\": \"{Patient}\",\n  \"saved_at\": \"{at}\",\n  \"muscles\": {{\n{muscles}\n  }}\n}}\n");
    }

    public string[] ServiceArguments =>
    [
        $"--Api:GrpcUrl={GrpcUrl}", $"--Api:BrowserUrl={BrowserUrl}",
        $"--Acquisition:Serial:PortName={Line.HostEnd}",
        $"--Recording:Folder={Recordings}", $"--Recording:Station={StationName}",
        "--History:Enabled=true", $"--History:Url={History.Url}", "--History:Org=clinic", "--History:Bucket=emg",
        "--History:Token=history-token-0123456789", $"--History:SpoolDirectory={Spool}",
        "--Sessions:Calibration:RestSeconds=2",
    ];

    /// <summary>Starts the service and waits until it listens and streams the board's samples.</summary>
    public async Task StartServiceAsync()
    {
        _server = ServerProcess.Start(new ServerProcess.StartOptions
        {
            ApplicationDirectory = ServerDirectory(),
            WorkingDirectory = Work,
            Environment = new Dictionary<string, string> { [EmgBiofeedback.Server.TestHooks.ClockOffsetFileVariable] = ClockOffsetFile },
        }, ServiceArguments);
        _server.WaitForLine(l => l.Contains("gRPC API on", StringComparison.Ordinal), TimeSpan.FromSeconds(90), "the endpoints announcement");
        _control = GrpcChannel.ForAddress(GrpcUrl);
        var live = new Live.LiveClient(_control);
        try
        {
            await WaitStreamingAsync(live);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}\n{await DiagnoseAsync()}", e);
        }
    }

    /// <summary>What the serial path looks like when the service does not stream: relay counters, who holds the ptys, where the service's threads wait.</summary>
    public async Task<string> DiagnoseAsync()
    {
        var report = new System.Text.StringBuilder();
        report.Append($"relay: latest sequence {Relay.LatestSequence}, dropped {Relay.DroppedBytes} bytes, plugged {Relay.Plugged}\n");
        async Task Run(string file, params string[] args)
        {
            try
            {
                using Process p = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
                Task<string> o = p.StandardOutput.ReadToEndAsync();
                Task<string> e = p.StandardError.ReadToEndAsync();
                await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
                report.Append($"$ {file} {string.Join(' ', args)}\n{(await o).Trim()}\n{(await e).Trim()}\n");
            }
            catch (Exception x) when (x is TimeoutException or System.ComponentModel.Win32Exception or InvalidOperationException)
            {
                report.Append($"$ {file}: {x.Message}\n");
            }
        }
        await Run("ls", "-l", Path.GetDirectoryName(Line.HostEnd)!);
        await Run("sh", "-c", $"for p in $(pgrep -f {Path.GetDirectoryName(Line.HostEnd)}); do echo $p; cat /proc/$p/wchan; echo; ls -l /proc/$p/fd | grep pts; done");
        if (_server is { HasExited: false } server)
        {
            await Run("sh", "-c", $"for t in /proc/{server.Pid}/task/*; do echo $t $(cat $t/comm) $(cat $t/wchan); done | grep -v ' 0$' | head -60");
            await Run("timeout", "3", "strace", "-f", "-p", server.Pid.ToString(CultureInfo.InvariantCulture), "-e", "trace=read,write,ioctl", "-s", "16");
        }
        return report.ToString();
    }

    private static async Task WaitStreamingAsync(Live.LiveClient live)
    {
        await Eventually.TrueAsync(() =>
        {
            try
            {
                Status s = live.GetStatus(new GetStatusRequest(), deadline: DateTime.UtcNow.AddSeconds(5));
                return s.Connected && s.Board is not null && s.Counters.SampleFrames > 1000;
            }
            catch (Grpc.Core.RpcException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(60), "the service streaming the board's samples");
    }

    /// <summary>SIGKILL: no shutdown, no flush beyond what the service had already handed to the OS.</summary>
    public async Task KillServiceAsync()
    {
        ServerProcess server = Server;
        if (!server.HasExited)
        {
            using Process kill = Process.Start("kill", ["-KILL", server.Pid.ToString(CultureInfo.InvariantCulture)])!;
            await kill.WaitForExitAsync();
        }
        await server.WaitForExitAsync(TimeSpan.FromSeconds(30));
        lock (_serverLogs)
        {
            _serverLogs.Add(server.Log());
        }
        _control?.Dispose();
        _control = null;
        await server.DisposeAsync();
        _server = null;
    }

    public async Task StopServiceAsync()
    {
        if (_server is null)
        {
            return;
        }
        ServerProcess server = _server;
        await server.DisposeAsync(); // SIGTERM: a graceful stop
        lock (_serverLogs)
        {
            _serverLogs.Add(server.Log());
        }
        _control?.Dispose();
        _control = null;
        _server = null;
    }

    /// <summary>Steps the service's wall clock (its test hook) to <paramref name="seconds"/> from the true time.</summary>
    public void SetClockOffset(double seconds)
    {
        string temp = ClockOffsetFile + ".tmp";
        File.WriteAllText(temp, seconds.ToString(CultureInfo.InvariantCulture));
        File.Move(temp, ClockOffsetFile, overwrite: true);
    }

    public async ValueTask DisposeAsync()
    {
        async Task Quietly(Func<Task> stop)
        {
            try
            {
                await stop();
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                Console.WriteLine($"[e2e] cleanup: {e.Message}");
            }
        }
        await Quietly(StopServiceAsync);
        await Quietly(async () => await (Relay?.DisposeAsync() ?? ValueTask.CompletedTask));
        await Quietly(async () => await (Board?.DisposeAsync() ?? ValueTask.CompletedTask));
        await Quietly(async () => await (Line?.DisposeAsync() ?? ValueTask.CompletedTask));
        await Quietly(async () => await (History?.DisposeAsync() ?? ValueTask.CompletedTask));
        if (TmpfsBytes > 0)
        {
            using Process umount = Process.Start("umount", ["-l", Recordings])!;
            await umount.WaitForExitAsync();
        }
        if (Environment.GetEnvironmentVariable("EMG_E2E_KEEP") is null)
        {
            try
            {
                Directory.Delete(Work, recursive: true);
            }
            catch (IOException)
            {
                // a leftover temp folder is harmless
            }
        }
    }
}
