using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace EmgBiofeedback.Server.Tests;

/// <summary>
/// Started by systemd, the service logs what journald understands: one line per entry with its syslog priority
/// (&lt;6&gt; info, &lt;4&gt; warning, ...), no timestamp of its own, and it reports readiness (Type=notify). Started any
/// other way, the console format is the one a person reads.
/// </summary>
public partial class JournaldTests
{
    // Nothing listens there: the history writer warns that its server is unavailable, a Warning to see the priority of.
    private static string[] HistoryToNowhere() =>
    [
        "--History:Enabled=true", $"--History:Url=http://127.0.0.1:{FreePorts.Next()}", "--History:Org=clinic", "--History:Bucket=emg",
        "--History:Token=history-token-0123456789", $"--History:SpoolDirectory={Directory.CreateTempSubdirectory("emg-spool-").FullName}",
    ];

    [Fact]
    public async Task With_standard_output_on_the_journal_every_line_carries_its_syslog_priority()
    {
        // systemd connects standard output to journald and names that stream in JOURNAL_STREAM ("device:inode"); the
        // shell does the same for the pipe the test reads, then becomes the service.
        var journal = new ServerProcess.StartOptions
        {
            Launcher = ["sh", "-c", "export JOURNAL_STREAM=$(stat -L -c %d:%i /proc/$$/fd/1); exec \"$@\"", "sh"],
        };
        await using ServerProcess server = ServerProcess.StartListening(journal, HistoryToNowhere());
        server.WaitForLine(l => l.Contains("History server unavailable", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "the history warning");
        server.WaitForLine(l => l.Contains("frames/s", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "a status line");

        string[] lines = server.Log().Split('\n');
        Assert.All(lines, line => Assert.Matches(JournalLine(), line));
        Assert.Contains(lines, l => l.StartsWith($"<6>EmgBiofeedback.Server[1] gRPC API on {server.Address}", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("<6>EmgBiofeedback.Server.StatusReporter[100] ok | SIMULATED", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("<4>", StringComparison.Ordinal) && l.Contains("History server unavailable", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Started_by_systemd_it_reports_ready_and_logs_with_priorities()
    {
        // What a Type=notify unit does: systemd is the parent (Microsoft.Extensions.Hosting.Systemd looks at the
        // parent's name) and NOTIFY_SOCKET names the datagram socket where it waits for READY=1. The parent here is a
        // shell called "systemd" that passes SIGTERM on, as systemd does on stop.
        string folder = Directory.CreateTempSubdirectory("emg-systemd-").FullName;
        string systemd = Path.Combine(folder, "systemd");
        File.CreateSymbolicLink(systemd, "/bin/sh");
        string notifyPath = Path.Combine(folder, "notify");
        using var notify = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        notify.Bind(new UnixDomainSocketEndPoint(notifyPath));
        var unit = new ServerProcess.StartOptions
        {
            Launcher =
            [
                systemd, "-c",
                "\"$@\" & child=$!; trap 'kill -TERM $child' TERM; wait $child; status=$?; " +
                "while kill -0 $child 2>/dev/null; do wait $child; status=$?; done; exit $status",
                "systemd",
            ],
            Environment = new Dictionary<string, string> { ["NOTIFY_SOCKET"] = notifyPath, ["INVOCATION_ID"] = Guid.NewGuid().ToString("N") },
        };

        await using ServerProcess server = ServerProcess.StartListening(unit);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        byte[] buffer = new byte[256];
        int received = await notify.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
        server.WaitForLine(l => l.Contains("frames/s", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "a status line");

        Assert.Contains("READY=1", Encoding.ASCII.GetString(buffer, 0, received), StringComparison.Ordinal);
        string[] lines = server.Log().Split('\n');
        Assert.All(lines, line => Assert.Matches(JournalLine(), line));
        Assert.Contains(lines, l => l.StartsWith($"<6>EmgBiofeedback.Server[1] gRPC API on {server.Address}", StringComparison.Ordinal));
        Assert.Equal(0, await server.StopAsync(TimeSpan.FromSeconds(30))); // SIGTERM: a requested stop
        using var stopping = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        received = await notify.ReceiveAsync(buffer, SocketFlags.None, stopping.Token);
        Assert.Contains("STOPPING=1", Encoding.ASCII.GetString(buffer, 0, received), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Started_from_a_terminal_or_a_script_the_console_format_is_unchanged()
    {
        // A JOURNAL_STREAM inherited from a service manager, while standard output goes elsewhere, is not the journal.
        var inherited = new ServerProcess.StartOptions { Environment = new Dictionary<string, string> { ["JOURNAL_STREAM"] = "8:12345" } };
        await using ServerProcess server = ServerProcess.StartListening(inherited, HistoryToNowhere());
        server.WaitForLine(l => l.Contains("History server unavailable", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "the history warning");

        string[] lines = server.Log().Split('\n');
        Assert.DoesNotContain(lines, l => l.StartsWith('<'));
        Assert.Contains(lines, l => Regex.IsMatch(l, $@"^\d\d:\d\d:\d\d info: EmgBiofeedback\.Server\[1\] gRPC API on {Regex.Escape(server.Address)} "));
        Assert.Contains(lines, l => Regex.IsMatch(l, @"^\d\d:\d\d:\d\d warn: EmgBiofeedback\.History\.HistoryService\[2\] History server unavailable"));
    }

    /// <summary>"&lt;priority&gt;category[event id] message" on one line: systemd's console format.</summary>
    [GeneratedRegex(@"^<[0-7]>[A-Za-z0-9_.]+\[\d+\] \S")]
    private static partial Regex JournalLine();
}
