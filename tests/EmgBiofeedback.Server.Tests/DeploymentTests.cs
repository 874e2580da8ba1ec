using System.Diagnostics;
using System.Text.Json.Nodes;

namespace EmgBiofeedback.Server.Tests;

/// <summary>
/// The service as a station runs it: installed in its own folder with the station's settings beside the
/// binary, started from "/" as systemd does (no WorkingDirectory=), and as an unprivileged user.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public class DeploymentTests
{
    [Fact]
    public async Task Started_from_the_root_directory_it_reads_the_settings_beside_its_binary_and_records_in_its_state_directory()
    {
        using var install = new InstalledCopy();
        await using ServerProcess server = ServerProcess.Start(
            new ServerProcess.StartOptions { ApplicationDirectory = install.Application, WorkingDirectory = "/", Environment = install.SystemdEnvironment },
            ServerProcess.AnyPorts);

        await install.AssertStartedWithItsSettingsAsync(server);
    }

    [Fact]
    public async Task As_a_throw_away_system_user_from_the_root_directory_the_installed_service_starts_with_its_settings()
    {
        using var install = new InstalledCopy();
        string user = $"emgtest{Environment.ProcessId % 100000}{Random.Shared.Next(1000)}";
        Run("useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", user);
        try
        {
            Run("chown", "-R", $"{user}:", install.State); // what systemd's StateDirectory= does for the service's user
            await using ServerProcess server = ServerProcess.Start(
                new ServerProcess.StartOptions { ApplicationDirectory = install.Application, WorkingDirectory = "/", User = user, Environment = install.SystemdEnvironment },
                ServerProcess.AnyPorts);

            await install.AssertStartedWithItsSettingsAsync(server);
        }
        finally
        {
            Run("userdel", user);
        }
    }

    [Fact]
    public void The_systemd_unit_in_the_repository_passes_systemd_analyze_verify()
    {
        // The unit names /opt/emgbiofeedback; verify checks that its ExecStart exists, so point it at this build.
        string unit = File.ReadAllText(Path.Combine(RepositoryPaths.Root, "deploy", "emgbiofeedback.service"));
        using var install = new InstalledCopy();
        string copy = Path.Combine(install.State, "emgbiofeedback.service");
        File.WriteAllText(copy, unit.Replace("/opt/emgbiofeedback", install.Application, StringComparison.Ordinal));

        (int exitCode, string output) = Run("systemd-analyze", "verify", copy);

        Assert.True(exitCode == 0 && output.Trim().Length == 0, $"systemd-analyze verify: exit {exitCode}\n{output}");
    }

    private static (int ExitCode, string Output) Run(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in arguments)
        {
            start.ArgumentList.Add(a);
        }
        using Process process = Process.Start(start)!;
        Task<string> error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        string all = output + error.Result;
        if (program != "systemd-analyze" && process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)}: exit {process.ExitCode}: {all}");
        }
        return (process.ExitCode, all);
    }

    /// <summary>
    /// The built service copied to a folder of its own, readable by everyone (as under /opt), with station
    /// settings that differ from the defaults: 3 channels in appsettings.json, 500 Hz in
    /// appsettings.Production.json. A state folder stands for systemd's StateDirectory=.
    /// </summary>
    private sealed class InstalledCopy : IDisposable
    {
        private const UnixFileMode Directories = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

        private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("emg-install-");

        public InstalledCopy()
        {
            File.SetUnixFileMode(_root.FullName, Directories);
            Application = Path.Combine(_root.FullName, "app");
            State = Path.Combine(_root.FullName, "state");
            Copy(BuiltServer(), Application);
            Directory.CreateDirectory(State);
            var settings = JsonNode.Parse(File.ReadAllText(Path.Combine(Application, "appsettings.json")))!;
            settings["Acquisition"]!["Simulator"]!["Channels"] = 3;
            File.WriteAllText(Path.Combine(Application, "appsettings.json"), settings.ToJsonString());
            File.WriteAllText(Path.Combine(Application, "appsettings.Production.json"), """{ "Acquisition": { "Simulator": { "SampleRateHz": 500 } } }""");
        }

        public string Application { get; }

        public string State { get; }

        public IReadOnlyDictionary<string, string> SystemdEnvironment => new Dictionary<string, string> { ["STATE_DIRECTORY"] = State };

        public async Task AssertStartedWithItsSettingsAsync(ServerProcess server)
        {
            // The board's line and the start-up lines come in either order.
            await Eventually.TrueAsync(() => server.Log() is var l && l.Contains("Board simulated", StringComparison.Ordinal) && l.Contains("Recordings folder:", StringComparison.Ordinal),
                TimeSpan.FromSeconds(60), "the board and the start-up announcements");
            string log = server.Log();
            Assert.Contains("Board simulated firmware 1.0.0: 3 ch x 500 Hz", log, StringComparison.Ordinal);
            Assert.Contains($"Configuration files: {Path.Combine(Application, "appsettings.json")}, {Path.Combine(Application, "appsettings.Production.json")}", log, StringComparison.Ordinal);
            Assert.Contains($"Recordings folder: {Path.Combine(State, "recordings")}", log, StringComparison.Ordinal);
        }

        /// <summary>The server project's own build output (what `dotnet publish` would install), else the copy beside the tests.</summary>
        private static string BuiltServer()
        {
            var beside = new DirectoryInfo(ServerProcess.ServerDirectory);
            string own = Path.Combine(RepositoryPaths.Root, "src", "EmgBiofeedback.Server", "bin", beside.Parent!.Name, beside.Name);
            return File.Exists(Path.Combine(own, "EmgBiofeedback.Server.dll")) ? own : beside.FullName;
        }

        private static void Copy(string from, string to)
        {
            Directory.CreateDirectory(to);
            File.SetUnixFileMode(to, Directories);
            foreach (string file in Directory.GetFiles(from))
            {
                string target = Path.Combine(to, Path.GetFileName(file));
                File.Copy(file, target);
                File.SetUnixFileMode(target, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            }
            foreach (string directory in Directory.GetDirectories(from))
            {
                Copy(directory, Path.Combine(to, Path.GetFileName(directory)));
            }
        }

        public void Dispose() => _root.Delete(recursive: true);
    }
}
