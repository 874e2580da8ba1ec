using System.Diagnostics;
using System.Text.Json;

namespace EmgBiofeedback.Server.Tests;

/// <summary>Runs python/emg_client.py with Debian's interpreter and its python3-grpcio; returns its JSON answer.</summary>
public static class PythonGrpcClient
{
    private const string Python = "/usr/bin/python3";

    public static async Task<JsonElement> RunAsync(string target, string command, params string[] arguments)
    {
        if (!File.Exists(Python))
        {
            throw new InvalidOperationException($"{Python} is missing: run tests/run-all.sh, which installs python3-grpcio.");
        }
        string script = Path.Combine(AppContext.BaseDirectory, "python", "emg_client.py");
        string protoRoot = Path.Combine(RepositoryPaths.Root, "src", "EmgBiofeedback.Contracts", "Protos");
        var start = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in (string[])[script, protoRoot, target, command, .. arguments])
        {
            start.ArgumentList.Add(a);
        }
        using Process process = Process.Start(start) ?? throw new InvalidOperationException("python did not start");
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"emg_client.py {command} failed ({process.ExitCode}): {await stderr}");
        }
        return JsonDocument.Parse(await stdout).RootElement;
    }
}
