using System.Diagnostics;
using EmgBiofeedback.Server.Tests;

namespace EmgBiofeedback.Cli.Tests;

/// <summary>`emg watch` against the real service (its own process, the simulated board), as a user runs it.</summary>
public class WatchEndToEndTests
{
    private static readonly string[] SimulatedLabels = ["SCM L", "SCM R", "UT L", "UT R", "SPL L", "SPL R", "LS L", "LS R"];

    private static Process StartEmg(IReadOnlyDictionary<string, string>? environment, params string[] arguments)
    {
        // Through env(1) with SIGINT's default handling restored: a test run started in the background inherits
        // SIGINT ignored, and .NET then leaves it so; a terminal's Ctrl+C is never ignored.
        var psi = new ProcessStartInfo("env") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in (string[])["--default-signal=INT", "dotnet", Path.Combine(AppContext.BaseDirectory, "emg.dll"), .. arguments])
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment.Remove("EMG_TOKEN");
        foreach ((string name, string value) in environment ?? new Dictionary<string, string>())
        {
            psi.Environment[name] = value;
        }
        return Process.Start(psi)!;
    }

    private static async Task<(int ExitCode, string Output, string Errors)> Emg(IReadOnlyDictionary<string, string>? environment, params string[] arguments)
    {
        using Process emg = StartEmg(environment, arguments);
        Task<string> output = emg.StandardOutput.ReadToEndAsync();
        Task<string> errors = emg.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await emg.WaitForExitAsync(timeout.Token);
        return (emg.ExitCode, await output, await errors);
    }

    [Fact]
    public async Task Once_prints_a_snapshot_of_the_simulated_board_with_its_muscles_and_exits_0()
    {
        await using ServerProcess server = ServerProcess.StartListening();

        var run = await Emg(null, "watch", "--url", server.Address, "--once");

        Assert.True(run.ExitCode == 0, run.Output + run.Errors);
        foreach (string label in SimulatedLabels)
        {
            Assert.Contains($" {label} ", run.Output, StringComparison.Ordinal);
        }
        Assert.Contains("SIMULATED", run.Output, StringComparison.Ordinal);
        Assert.Contains("streaming", run.Output, StringComparison.Ordinal);
        Assert.Contains("simulated board (8 ch x 1000 Hz)", run.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("no signal", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_token_comes_from_the_token_file_or_EMG_TOKEN_and_a_station_that_wants_one_says_so()
    {
        const string Token = "watch-test-viewer-token-0123456789";
        await using ServerProcess server = ServerProcess.StartListening("--Api:RequireAuthentication=true", $"--Api:ViewerTokens:0={Token}");
        string tokenFile = Path.Combine(Directory.CreateTempSubdirectory("emg-watch-").FullName, "viewer.token");
        await File.WriteAllTextAsync(tokenFile, Token + "\n");

        var fromFile = await Emg(null, "watch", "--url", server.Address, "--token-file", tokenFile, "--once");
        var fromEnvironment = await Emg(new Dictionary<string, string> { ["EMG_TOKEN"] = Token }, "watch", "--url", server.Address, "--once");
        var without = await Emg(null, "watch", "--url", server.Address, "--once");

        Assert.True(fromFile.ExitCode == 0, fromFile.Output + fromFile.Errors);
        Assert.Contains(" SCM L ", fromFile.Output, StringComparison.Ordinal);
        Assert.True(fromEnvironment.ExitCode == 0, fromEnvironment.Output + fromEnvironment.Errors);
        Assert.Contains(" SCM L ", fromEnvironment.Output, StringComparison.Ordinal);
        Assert.Equal(1, without.ExitCode);
        Assert.Contains("no connection — retrying", without.Output, StringComparison.Ordinal);
        Assert.Contains("wants a token", without.Output + without.Errors, StringComparison.Ordinal);
        Assert.DoesNotContain(Token, fromFile.Output + fromFile.Errors + without.Output + without.Errors, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ctrl_C_ends_the_live_view_with_exit_code_0()
    {
        await using ServerProcess server = ServerProcess.StartListening();
        using Process emg = StartEmg(null, "watch", "--url", server.Address);
        try
        {
            Task<string> output = emg.StandardOutput.ReadToEndAsync();
            Task<string> errors = emg.StandardError.ReadToEndAsync();

            await Task.Delay(TimeSpan.FromSeconds(3));
            Assert.False(emg.HasExited, "emg watch ended by itself");
            Process.Start("kill", ["-INT", emg.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();
            Assert.True(emg.WaitForExit(TimeSpan.FromSeconds(10)), "emg watch still runs 10 s after SIGINT");

            Assert.True(emg.ExitCode == 0, await errors);
            Assert.Contains(" SCM L ", await output, StringComparison.Ordinal);
        }
        finally
        {
            if (!emg.HasExited)
            {
                emg.Kill();
            }
        }
    }
}
