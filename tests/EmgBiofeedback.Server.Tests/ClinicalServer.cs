using System.Diagnostics;
using System.Text.Json;
using EmgBiofeedback.Sessions;

namespace EmgBiofeedback.Server.Tests;

/// <summary>
/// The real service for the clinical end-to-end tests: its own recordings folder (where calibrations and protocols are
/// stored), the guided calibration's windows short, an environment of its own (test hooks), and a hard kill (SIGKILL)
/// as a power cut or the OOM killer would end it. Built on <see cref="ServerProcess"/>; what it adds is what
/// <see cref="ServerProcess.StartListening"/> cannot take: <see cref="ServerProcess.StartOptions"/>.
/// </summary>
public sealed class ClinicalServer : IAsyncDisposable
{
    /// <summary>The station name the service uses when Recording:Station is not set (RecorderOptions).</summary>
    public const string Station = "station1";

    /// <summary>Short guided-calibration windows (Sessions:Calibration), so a whole calibration takes seconds.</summary>
    public static readonly string[] ShortCalibration =
    [
        "--Sessions:Calibration:SignalCheckSeconds=1", "--Sessions:Calibration:RestSeconds=2", "--Sessions:Calibration:ContractionSeconds=1",
        "--Sessions:Calibration:Contractions=2", "--Sessions:Calibration:RestBetweenSeconds=1",
    ];

    private ClinicalServer(ServerProcess process, string folder, string address, string browserAddress)
    {
        Process = process;
        Folder = folder;
        Address = address;
        BrowserAddress = browserAddress;
    }

    public ServerProcess Process { get; }

    /// <summary>The recordings folder (Recording:Folder).</summary>
    public string Folder { get; }

    public string Address { get; }

    public string BrowserAddress { get; }

    public string Target => new Uri(Address).Authority;

    /// <summary>Starts the service on free loopback ports with <paramref name="folder"/> as its recordings folder and waits until it listens and streams.</summary>
    public static ClinicalServer Start(string folder, IReadOnlyDictionary<string, string>? environment = null, params string[] arguments)
    {
        string grpc = $"http://127.0.0.1:{FreePorts.Next()}";
        string browser = $"http://127.0.0.1:{FreePorts.Next()}";
        ServerProcess process = ServerProcess.Start(
            new ServerProcess.StartOptions { Environment = environment ?? new Dictionary<string, string>() },
            [$"--Api:GrpcUrl={grpc}", $"--Api:BrowserUrl={browser}", $"--Recording:Folder={folder}", .. ShortCalibration, .. arguments]);
        process.WaitForLine(l => l.Contains("gRPC API on", StringComparison.Ordinal), TimeSpan.FromSeconds(60), "the endpoints announcement");
        if (!process.Log().Contains("Board simulated", StringComparison.Ordinal))
        {
            process.WaitForLine(l => l.Contains("Board simulated", StringComparison.Ordinal), TimeSpan.FromSeconds(60), "board identification");
        }
        return new ClinicalServer(process, folder, grpc, browser);
    }

    /// <summary>
    /// SIGKILL to the service (Process.Kill sends it on Linux): no shutdown code runs, as in a power cut. The process is
    /// found by its command line, which names this server's own recordings folder (ServerProcess keeps its Process private).
    /// </summary>
    public async Task KillHardAsync()
    {
        int pid = FindPid();
        using (Process victim = System.Diagnostics.Process.GetProcessById(pid))
        {
            victim.Kill(entireProcessTree: true);
        }
        await Process.WaitForExitAsync(TimeSpan.FromSeconds(20));
    }

    private int FindPid()
    {
        string needle = $"--Recording:Folder={Folder}";
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid))
            {
                continue;
            }
            try
            {
                string[] argv = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0');
                if (argv.Contains(needle) && argv.Any(a => a.EndsWith("EmgBiofeedback.Server.dll", StringComparison.Ordinal)))
                {
                    return pid;
                }
            }
            catch (IOException)
            {
                // the process ended while we looked
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
        throw new InvalidOperationException($"No running EmgBiofeedback.Server with {needle}. Output:\n{Process.Log()}");
    }

    /// <summary>A calibration as the station stores it, with round values (exact in JSON and in annotations) and whole-second dates.</summary>
    public static Dictionary<string, MuscleCalibration> Calibration(double restUv, double mvcUv, DateTimeOffset calibratedAt, params string[] labels) =>
        labels.ToDictionary(l => l, l => new MuscleCalibration(restUv, mvcUv, "median over 3 isometric MVCs of 5 s (seeded by the test)", calibratedAt));

    /// <summary>The temporary files of calibration saves in progress (or cut off) for a patient: ".&lt;patient&gt;.json.&lt;guid&gt;.tmp".</summary>
    public static string[] SavesInProgress(CalibrationStore store, string patient)
    {
        string folder = Path.Combine(store.Folder, Station);
        return Directory.Exists(folder) ? Directory.GetFiles(folder, $".{patient}.json.*.tmp") : [];
    }

    public async ValueTask DisposeAsync() => await Process.DisposeAsync();
}

/// <summary>Runs a script of python/ (beside emg_client.py, whose stub generator it imports) with Debian's interpreter; returns its JSON answer.</summary>
public static class PythonScript
{
    private const string Python = "/usr/bin/python3";

    public static async Task<(int ExitCode, JsonElement Result, string Errors)> RunAsync(string script, TimeSpan timeout, params string[] arguments)
    {
        if (!File.Exists(Python))
        {
            throw new InvalidOperationException($"{Python} is missing: run tests/run-all.sh, which installs python3-grpcio.");
        }
        string protoRoot = Path.Combine(RepositoryPaths.Root, "src", "EmgBiofeedback.Contracts", "Protos");
        var start = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in (string[])[Path.Combine(AppContext.BaseDirectory, "python", script), protoRoot, .. arguments])
        {
            start.ArgumentList.Add(a);
        }
        using Process process = Process.Start(start) ?? throw new InvalidOperationException("python did not start");
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{script} did not end within {timeout.TotalSeconds:F0} s: {await stderr}");
        }
        string output = await stdout, errors = await stderr;
        if (output.Trim().Length == 0)
        {
            throw new InvalidOperationException($"{script} printed nothing (exit {process.ExitCode}): {errors}");
        }
        return (process.ExitCode, JsonDocument.Parse(output).RootElement.Clone(), errors);
    }
}
