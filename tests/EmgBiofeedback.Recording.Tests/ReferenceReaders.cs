using System.Diagnostics;
using System.Text.Json;

namespace EmgBiofeedback.Recording.Tests;

/// <summary>The readers clinicians and researchers use, run on our files: MNE-Python and EDFlib (compiled here).</summary>
internal static class ReferenceReaders
{
    private static readonly Lazy<string> EdflibReader = new(CompileEdflibReader);

    public static JsonElement Mne(string bdfPath)
    {
        string output = Run("/usr/bin/python3", [Path.Combine(AppContext.BaseDirectory, "readers", "read_mne.py"), bdfPath]);
        return JsonDocument.Parse(output).RootElement;
    }

    public static IReadOnlyList<string> Edflib(string bdfPath) =>
        Run(EdflibReader.Value, [bdfPath]).Split('\n', StringSplitOptions.RemoveEmptyEntries);

    private static string CompileEdflibReader()
    {
        string exe = Path.Combine(Path.GetTempPath(), $"edflib_read_{Environment.ProcessId}");
        Run("gcc", ["-O1", "-o", exe, Path.Combine(AppContext.BaseDirectory, "readers", "edflib_read.c"), "-ledf"]);
        return exe;
    }

    public static string Run(string program, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using Process p = Process.Start(psi)!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} exited with {p.ExitCode}: {stderr.Result}{stdout.Result}");
        }
        return stdout.Result;
    }
}
