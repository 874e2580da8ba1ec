using System.Diagnostics;
using System.Globalization;

namespace EmgBiofeedback.TestSupport;

/// <summary>Ending a child process the way a user or systemd would.</summary>
public static class ProcessExit
{
    /// <summary>
    /// SIGTERM (as systemd or Ctrl+C would: the program shuts down gracefully), then SIGKILL of its whole tree if it has
    /// not exited within <paramref name="grace"/>.
    /// </summary>
    public static async Task TerminateAsync(Process process, TimeSpan grace)
    {
        if (process.HasExited)
        {
            return;
        }
        using (Process kill = Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)])!)
        {
            kill.WaitForExit();
        }
        using var cts = new CancellationTokenSource(grace);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
        }
    }
}
