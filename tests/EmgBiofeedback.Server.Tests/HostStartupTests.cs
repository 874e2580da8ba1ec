using System.Globalization;
using System.Text.RegularExpressions;
using EmgBiofeedback.Acquisition;
using EmgBiofeedback.Acquisition.Tests;

namespace EmgBiofeedback.Server.Tests;

public partial class HostStartupTests
{
    [Fact]
    public async Task With_no_serial_port_the_service_streams_the_simulated_board_and_reports_8_channels_at_1000_Hz_without_loss()
    {
        await using ServerProcess server = ServerProcess.Start([.. ServerProcess.AnyPorts, "--Acquisition:StatusInterval=00:00:01"]);

        server.WaitForLine(l => l.Contains("Board simulated", StringComparison.Ordinal), TimeSpan.FromSeconds(60), "board identification");
        server.WaitForLine(IsStatus, TimeSpan.FromSeconds(30), "first status line"); // the first interval includes start-up
        string status = server.WaitForLine(IsStatus, TimeSpan.FromSeconds(30), "second status line");

        Match m = StatusPattern().Match(status);
        Assert.True(m.Success, status);
        Assert.Equal("8", m.Groups["channels"].Value);
        Assert.Equal("1000", m.Groups["rate"].Value);
        Assert.InRange(double.Parse(m.Groups["fps"].Value, CultureInfo.InvariantCulture), 900, 1100);
        Assert.Contains("lost 0 in 0 gaps, crc 0, resync 0, dup 0, reconnects 0", status, StringComparison.Ordinal);
        Assert.StartsWith("ok | SIMULATED | simulated board", status[(status.IndexOf("] ", StringComparison.Ordinal) + 2)..], StringComparison.Ordinal);
        Assert.Contains("SCM L", status, StringComparison.Ordinal);
        Assert.Contains("LS R", status, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_a_replay_file_the_service_streams_the_recording_through_the_live_pipeline()
    {
        string samples = Path.Combine(RepositoryPaths.Root, "samples");
        await using ServerProcess server = ServerProcess.Start([.. ServerProcess.AnyPorts, $"--Recording:Folder={samples}", "--Replay:File=biosppy-emg_1.bdf", "--Acquisition:StatusInterval=00:00:01"]);

        server.WaitForLine(l => l.Contains("Board replay", StringComparison.Ordinal), TimeSpan.FromSeconds(60), "the recording's board");
        server.WaitForLine(IsStatus, TimeSpan.FromSeconds(30), "first status line");
        string status = server.WaitForLine(IsStatus, TimeSpan.FromSeconds(30), "second status line");

        Assert.Contains("| REPLAY | replay of biosppy-emg_1.bdf at 1x | 1 ch x 1000 Hz", status, StringComparison.Ordinal);
        Assert.Contains("| EMG ", status, StringComparison.Ordinal); // the recording's own channel label
        Match m = StatusPattern().Match(status);
        Assert.InRange(double.Parse(m.Groups["fps"].Value, CultureInfo.InvariantCulture), 900, 1100);
    }

    [Theory]
    [InlineData("--Acquisition:Serial:BaudRate=12", "BaudRate")]
    [InlineData("--Acquisition:Simulator:MainsHz=55", "MainsHz")]
    [InlineData("--Acquisition:Simulator:Channels=40", "Channels")]
    [InlineData("--Dsp:SensorGain=0", "SensorGain")]
    [InlineData("--Dsp:RmsEnvelope:WindowMs=400", "WindowMs")]
    [InlineData("--Live:SubscriberQueueFrames=0", "SubscriberQueueFrames")]
    [InlineData("--Replay:File=../../../etc/passwd", "Replay:File")]
    [InlineData("--Replay:File=no-such-recording.bdf", "no-such-recording.bdf")]
    [InlineData("--History:Enabled=true", "History")]
    [InlineData("--Acquisition:Simulator:Muscles:0:Label=", "Label")]
    [InlineData("--Acquisition:Simulator:SampleRateHz=100", "Acquisition:Simulator:SampleRateHz = 100 Hz does not suit the signal chain: Dsp:MainsNotch:FrequencyHz")]
    [InlineData("--Api:RequireAuthentication=true", "Api:RequireAuthentication")]
    public async Task An_invalid_setting_stops_start_up_with_a_message_naming_it(string setting, string name)
    {
        await AssertConfigurationError([.. ServerProcess.AnyPorts, setting], name);
    }

    [Theory]
    [InlineData("corrupt", "Replay:File")]
    [InlineData("gap-overflow", "Replay:File")]
    [InlineData("fifo", "not a regular file")]
    public async Task A_replay_file_the_station_cannot_use_stops_start_up_with_exit_code_2_never_a_crash(string kind, string name)
    {
        // Before: a crafted recording as Replay:File crashed start-up with a stack trace (exit code 134).
        DirectoryInfo folder = Directory.CreateTempSubdirectory("emg-replay-start-");
        try
        {
            string path = Path.Combine(folder.FullName, "crafted.bdf");
            byte[] bytes = File.ReadAllBytes(Path.Combine(RepositoryPaths.Root, "samples", "biosppy-emg.bdf"));
            switch (kind)
            {
                case "corrupt":
                    System.Text.Encoding.ASCII.GetBytes("x       ").CopyTo(bytes, 256 + (2 * 216)); // samples per record of signal 1
                    File.WriteAllBytes(path, bytes);
                    break;
                case "gap-overflow":
                {
                    // A gap note whose count overflows a long, in the first record's annotations.
                    int ns = 2;
                    int recordBytes = (1000 * 3) + (int.Parse(System.Text.Encoding.ASCII.GetString(bytes, 256 + (ns * 216) + 8, 8).Trim(), CultureInfo.InvariantCulture) * 3);
                    int at = (256 * (ns + 1)) + (1000 * 3);
                    byte[] tal = System.Text.Encoding.ASCII.GetBytes("+0\u0014\u0014\0+0.5\u0014Gap 99999999999999999999999 samples (crafted)\u0014\0");
                    Array.Clear(bytes, at, recordBytes - (1000 * 3));
                    tal.CopyTo(bytes, at);
                    File.WriteAllBytes(path, bytes);
                    break;
                }
                default:
                    using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", [path])!)
                    {
                        await mkfifo.WaitForExitAsync();
                    }
                    break;
            }
            if (kind == "gap-overflow")
            {
                // An overflowing gap note is an ordinary annotation: the file replays.
                await using ServerProcess server = ServerProcess.Start([.. ServerProcess.AnyPorts, $"--Recording:Folder={folder.FullName}", "--Replay:File=crafted.bdf", "--Acquisition:StatusInterval=00:00:01"]);
                string status = server.WaitForLine(l => l.Contains("| REPLAY |", StringComparison.Ordinal) && l.Contains("frames/s", StringComparison.Ordinal), TimeSpan.FromSeconds(60), "a status line of the replay");
                Assert.Contains("crafted.bdf", status, StringComparison.Ordinal);
                return;
            }
            await AssertConfigurationError([.. ServerProcess.AnyPorts, $"--Recording:Folder={folder.FullName}", "--Replay:File=crafted.bdf"], name);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private static async Task AssertConfigurationError(string[] arguments, string name)
    {
        await using ServerProcess server = ServerProcess.Start(arguments);

        int exitCode = await server.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(2, exitCode);
        string output = string.Join('\n', server.Output);
        Assert.Contains("Configuration error", output, StringComparison.Ordinal);
        Assert.Contains(name, output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal); // a message, not a stack trace
    }

    [Fact]
    public async Task A_board_whose_rate_the_signal_chain_cannot_filter_is_refused_with_the_reason_and_the_station_stays_up()
    {
        // A board on a real (pseudo-)serial port that samples at 100 Hz: its rate is known only once it says
        // HELLO, so start-up cannot refuse it. The station must not die of it: the board is not processed, the
        // status line says why, and the service keeps running (its API, the recorder) until asked to stop.
        await using SocatPtyPair pty = await SocatPtyPair.StartAsync();
        var simulator = new SimulatorOptions { Channels = 2, SampleRateHz = 100 };
        var board = new SimulatedBoardPort(new SimulatedBoardDriver(new SimulatedBoard(simulator, 200), TimeProvider.System), pty.BoardEnd, TimeProvider.System);
        using var stopBoard = new CancellationTokenSource();
        Task boardRun = board.RunAsync(stopBoard.Token);
        await using ServerProcess server = ServerProcess.Start([.. ServerProcess.AnyPorts, $"--Acquisition:Serial:PortName={pty.HostEnd}"]);

        string refused = server.WaitForLine(l => l.Contains("NOT PROCESSED", StringComparison.Ordinal), TimeSpan.FromSeconds(60), "status line that says the board is not processed");
        await Task.Delay(TimeSpan.FromSeconds(3));
        bool stillRunning = !server.HasExited;
        await stopBoard.CancelAsync();
        try
        {
            await boardRun;
        }
        catch (OperationCanceledException)
        {
            // the board stops with its cancellation
        }

        Assert.True(stillRunning, string.Join('\n', server.Output));
        Assert.Contains("Nyquist", refused, StringComparison.Ordinal); // the reason, from the signal chain
        Assert.Contains("2 ch x 100 Hz", refused, StringComparison.Ordinal);
    }

    private static bool IsStatus(string line) => line.Contains("frames/s", StringComparison.Ordinal);

    [GeneratedRegex(@"\| (?<channels>\d+) ch x (?<rate>\d+) Hz \| (?<fps>[\d.]+) frames/s")]
    private static partial Regex StatusPattern();
}
