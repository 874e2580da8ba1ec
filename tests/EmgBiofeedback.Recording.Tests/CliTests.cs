using System.Diagnostics;

namespace EmgBiofeedback.Recording.Tests;

/// <summary>The `emg` command line: imports, inspection, and clear errors for files it cannot use.</summary>
public class CliTests
{
    internal static async Task<(int ExitCode, string Output, string Errors)> Emg(params string[] arguments)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in (string[])[Path.Combine(AppContext.BaseDirectory, "emg.dll"), .. arguments])
        {
            psi.ArgumentList.Add(a);
        }
        using Process emg = Process.Start(psi)!;
        Task<string> output = emg.StandardOutput.ReadToEndAsync();
        Task<string> errors = emg.StandardError.ReadToEndAsync();
        await emg.WaitForExitAsync();
        return (emg.ExitCode, await output, await errors);
    }

    [Fact]
    public async Task A_BioSPPy_recording_imports_to_BDF_that_info_describes_and_export_turns_into_CSV()
    {
        string folder = Directory.CreateTempSubdirectory("emg-cli-").FullName;
        string bdf = Path.Combine(folder, "emg_1.bdf");
        string csv = Path.Combine(folder, "emg_1.csv");

        var import = await Emg("import", RepositoryPaths.SharedData("biosppy-emg", "emg_1.txt"), "--out", bdf);
        var info = await Emg("info", bdf);
        var export = await Emg("export", bdf, "--csv", csv);

        Assert.True(import.ExitCode == 0, import.Errors);
        Assert.Contains("1 ch x 1000 Hz, 12-bit ADC", info.Output, StringComparison.Ordinal);
        Assert.Equal(0, export.ExitCode);
        string[] lines = File.ReadAllLines(csv);
        Assert.Equal(1 + 64_000, lines.Length); // header + 64 whole records of 1 s
        Assert.Equal(63_880, lines.Skip(1).Count(l => l.Split(',')[2] == "1")); // every sample of the recording, marked recorded
        Assert.StartsWith("0,0.0000,1,2034,", lines[1], StringComparison.Ordinal); // emg_1.txt starts with the count 2034
    }

    [Fact]
    public async Task Missing_and_foreign_files_get_one_clear_error_line_and_exit_code_2()
    {
        string folder = Directory.CreateTempSubdirectory("emg-cli-").FullName;
        string foreign = Path.Combine(folder, "notes.bdf");
        await File.WriteAllTextAsync(foreign, "this is not a recording");

        var missing = await Emg("info", Path.Combine(folder, "nothing.bdf"));
        var wrong = await Emg("info", foreign);

        Assert.Equal(2, missing.ExitCode);
        Assert.StartsWith("error:", missing.Errors.Trim(), StringComparison.Ordinal);
        Assert.Equal(2, wrong.ExitCode);
        Assert.StartsWith("error:", wrong.Errors.Trim(), StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", missing.Errors + wrong.Errors, StringComparison.Ordinal);
    }
}
