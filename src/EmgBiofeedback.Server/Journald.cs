using Microsoft.Extensions.Hosting.Systemd;

namespace EmgBiofeedback.Server;

/// <summary>
/// Whether the log goes to the systemd journal, which then wants one line per entry with its syslog priority
/// ("&lt;6&gt;" info, "&lt;4&gt;" warning, "&lt;3&gt;" error...) and no timestamp of our own: journald stamps each line and
/// <c>journalctl -p warning</c> filters by that priority.
/// </summary>
internal static class Journald
{
    /// <summary>
    /// True when systemd started the service (its parent is systemd: a <c>Type=notify</c> unit, as
    /// Microsoft.Extensions.Hosting.Systemd decides it) or when standard output is the journal's stream whatever
    /// started the process (a wrapper script in ExecStart=, <c>systemd-run</c>): systemd then sets JOURNAL_STREAM to
    /// that stream's "device:inode".
    /// </summary>
    public static bool IsLogDestination() => SystemdHelpers.IsSystemdService() || StandardOutputIsJournalStream();

    /// <summary>
    /// JOURNAL_STREAM names the stream systemd connected; a child that inherited the variable but writes elsewhere
    /// (a shell started from the service, output redirected to a file) must not prefix, so the inode of standard
    /// output is compared with it, as systemd.exec(5) asks.
    /// </summary>
    public static bool StandardOutputIsJournalStream()
    {
        string? stream = Environment.GetEnvironmentVariable("JOURNAL_STREAM"); // "<device>:<inode>"
        int colon = stream?.IndexOf(':') ?? -1;
        if (colon < 0 || !OperatingSystem.IsLinux())
        {
            return false;
        }
        // /proc/self/fd/1 links to "socket:[<inode>]" (the journal's stream; "pipe:[<inode>]" for a pipe) or to a
        // path for a file. The inode alone identifies the socket on the one socket file system; the device is not
        // readable through /proc without fstat.
        string? target;
        try
        {
            target = new FileInfo("/proc/self/fd/1").LinkTarget;
        }
        catch (IOException)
        {
            return false;
        }
        int open = target?.IndexOf(":[", StringComparison.Ordinal) ?? -1;
        return open >= 0 && target![^1] == ']' && target.AsSpan(open + 2, target.Length - open - 3).SequenceEqual(stream!.AsSpan(colon + 1));
    }
}
