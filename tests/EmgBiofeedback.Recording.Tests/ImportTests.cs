using System.Text;
using System.Text.Json;

namespace EmgBiofeedback.Recording.Tests;

/// <summary>`emg import`: the format follows the extension, every parameter is checked, outputs appear complete or not at all.</summary>
public sealed class ImportTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("emg-import-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Text(string name, string content)
    {
        string path = Path.Combine(_folder, name);
        File.WriteAllText(path, content);
        return path;
    }

    private static string Biosppy(int rows, string rate = "1000.00", string bits = "12", string labels = "EMG", Func<int, string>? row = null)
    {
        var s = new StringBuilder($"# Simple Text Format\n# Sampling Rate (Hz):= {rate}\n# Resolution:= {bits}\n# Labels:= {labels}\n");
        for (int i = 0; i < rows; i++)
        {
            s.Append(row?.Invoke(i) ?? (2000 + i % 50).ToString(System.Globalization.CultureInfo.InvariantCulture)).Append('\n');
        }
        return s.ToString();
    }

    internal static void AssertOneLineError((int ExitCode, string Output, string Errors) run, string mustName)
    {
        Assert.Equal(2, run.ExitCode);
        string error = run.Errors.Trim();
        Assert.StartsWith("error: ", error, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error);
        Assert.Contains(mustName, error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_edf_output_is_EDF_plus_that_MNE_and_EDFlib_read_and_a_bdf_output_is_BDF_plus()
    {
        string edf = Path.Combine(_folder, "emg_1.edf");
        string bdf = Path.Combine(_folder, "emg_1.bdf");

        var toEdf = await CliTests.Emg("import", RepositoryPaths.SharedData("biosppy-emg", "emg_1.txt"), "--out", edf);
        var toBdf = await CliTests.Emg("import", RepositoryPaths.SharedData("biosppy-emg", "emg_1.txt"), "--out", bdf);

        Assert.True(toEdf.ExitCode == 0, toEdf.Errors);
        Assert.True(toBdf.ExitCode == 0, toBdf.Errors);
        byte[] head = File.ReadAllBytes(edf)[..256];
        Assert.Equal("0       ", Encoding.ASCII.GetString(head, 0, 8));
        Assert.StartsWith("EDF+C", Encoding.ASCII.GetString(head, 192, 44), StringComparison.Ordinal);
        Assert.Contains("EDF Annotations", Encoding.ASCII.GetString(File.ReadAllBytes(edf)[256..768]), StringComparison.Ordinal);
        Assert.Contains("filetype 1", ReferenceReaders.Edflib(edf)); // EDFLIB_FILETYPE_EDFPLUS
        Assert.Contains("filetype 3", ReferenceReaders.Edflib(bdf)); // EDFLIB_FILETYPE_BDFPLUS

        JsonElement mne = JsonDocument.Parse(ReferenceReaders.Run("/usr/bin/python3", ["-c",
            "import json,sys,mne; r=mne.io.read_raw_edf(sys.argv[1],preload=True,verbose='error'); "
            + "print(json.dumps({'sfreq':r.info['sfreq'],'n':int(r.n_times),'first':float(r.get_data()[0][0]*1e6)}))", edf])).RootElement;
        Assert.Equal(1000.0, mne.GetProperty("sfreq").GetDouble());
        Assert.Equal(64_000, mne.GetProperty("n").GetInt32());
        using var reader = new RecordingFile(bdf);
        double uvPerCount = reader.Header.Signals[0].UnitsPerDigit;
        Assert.Equal((2034 - 2048) * uvPerCount, mne.GetProperty("first").GetDouble(), 2); // emg_1.txt starts with 2034 (8-character fields round)
        var info = await CliTests.Emg("info", edf);
        Assert.Contains("EDF EDF+C", info.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_16_bit_count_imports_to_EDF_plus_stored_around_mid_scale_and_reads_back_in_microvolts()
    {
        string source = Text("wide.txt", Biosppy(1500, bits: "16", row: i => i == 0 ? "65535" : i == 1 ? "0" : "32768"));
        string edf = Path.Combine(_folder, "wide.edf");

        var run = await CliTests.Emg("import", source, "--out", edf, "--gain", "1", "--reference-mv", "3300");

        Assert.True(run.ExitCode == 0, run.Errors);
        Assert.Contains("filetype 1", ReferenceReaders.Edflib(edf));
        using var reader = new BdfReader(edf);
        var digital = new int[reader.SamplesPerRecord];
        reader.ReadRecord(0, digital);
        BdfSignal s = reader.Header.Signals[0];
        // Within 1 µV of 1.65 V (gain 1): the 8-character physical maximum rounds by 2e-7.
        Assert.Equal((65535 - 32768) * 3300e3 / 65536, s.ToPhysical(digital[0]), 0.5);
        Assert.Equal(-3300e3 / 2, s.ToPhysical(digital[1]), 0.5);
        Assert.Equal(0, s.ToPhysical(digital[2]), 0.5);
    }

    [Theory]
    [InlineData("x.txt2", "x.txt2")]
    [InlineData("x.EDF+", "x.EDF+")]
    public async Task An_output_that_is_neither_edf_nor_bdf_is_refused(string name, string named)
    {
        string source = Text("a.txt", Biosppy(10));
        AssertOneLineError(await CliTests.Emg("import", source, "--out", Path.Combine(_folder, name)), named);
        Assert.False(File.Exists(Path.Combine(_folder, name)));
    }

    public static TheoryData<string, string[], string, string> BadImports => new()
    {
        { "bits 0", ["--bits", "0"], Biosppy(10), "0 bits" },
        { "bits 17 for EDF", ["--bits", "17"], Biosppy(10), "17 bits" },
        { "reference 0", ["--reference-mv", "0"], Biosppy(10), "Reference 0 mV" },
        { "reference negative", ["--reference-mv=-5"], Biosppy(10), "Reference -5 mV" },
        { "gain NaN", ["--gain", "NaN"], Biosppy(10), "Gain NaN" },
        { "gain 0", ["--gain", "0"], Biosppy(10), "Gain 0" },
        { "gain infinite", ["--gain", "Infinity"], Biosppy(10), "Gain Infinity" },
        { "rate fractional", ["--rate", "999.5"], Biosppy(10), "999.5 Hz" },
        { "rate zero", ["--rate", "0"], Biosppy(10), "rate 0 Hz" },
        { "rate text in header", [], Biosppy(10, rate: "fast"), "\"fast\"" },
        { "rate NaN in header", [], Biosppy(10, rate: "NaN"), "NaN Hz" },
        { "17 channels", [], Biosppy(10, labels: string.Join(' ', Enumerable.Range(1, 17).Select(i => $"C{i}")), row: _ => string.Join(' ', Enumerable.Repeat("1", 17))), "17 channels" },
        { "count above 12 bits", [], Biosppy(10, row: i => i == 7 ? "4096" : "100"), ":12:1: count 4096" },
        { "count not a number", [], Biosppy(10, row: i => i == 3 ? "12a" : "100"), ":8:1: \"12a\"" },
        { "rate option against the header", ["--rate", "500"], Biosppy(10), "the file says 1000.00 Hz but --rate says 500 Hz" },
        { "bits option against the header", ["--bits", "10"], Biosppy(10), "the file says 12 bits but --bits says 10" },
        { "rate given twice in the header", [], Biosppy(10).Replace("# Resolution", "# Sampling Rate (Hz):= 500\n# Resolution", StringComparison.Ordinal), "\"Sampling Rate\" again (first on line 2)" },
    };

    [Theory]
    [MemberData(nameof(BadImports))]
    public async Task Each_bad_parameter_or_value_ends_with_one_error_line_naming_it_and_writes_nothing(string why, string[] options, string content, string named)
    {
        string source = Text("bad.txt", content);
        string edf = Path.Combine(_folder, "bad.edf");

        var run = await CliTests.Emg(["import", source, "--out", edf, .. options]);

        AssertOneLineError(run, named);
        Assert.False(File.Exists(edf), why);
        Assert.Empty(Directory.GetFiles(_folder, "*.tmp", SearchOption.AllDirectories).Concat(Directory.GetFiles(_folder, ".*")));
    }

    [Fact]
    public async Task A_line_of_ten_million_columns_is_refused_without_reading_it_into_memory()
    {
        string source = Path.Combine(_folder, "wide.csv");
        await using (var w = new StreamWriter(source))
        {
            await w.WriteLineAsync("1,2");
            for (int i = 0; i < 1_000_000; i++)
            {
                await w.WriteAsync("1,2,3,4,5,6,7,8,9,0,");
            }
            await w.WriteLineAsync();
        }

        var run = await CliTests.Emg("import", source, "--out", Path.Combine(_folder, "wide.bdf"), "--rate", "1000", "--bits", "10");

        AssertOneLineError(run, "wide.csv:2: the line is longer than 65536 characters");
    }

    [Fact]
    public async Task A_failed_import_leaves_an_existing_output_untouched()
    {
        string output = Path.Combine(_folder, "kept.bdf");
        Assert.Equal(0, (await CliTests.Emg("import", Text("good.txt", Biosppy(3000)), "--out", output)).ExitCode);
        byte[] before = File.ReadAllBytes(output);

        // Fails at line 2504, after two records were written.
        var run = await CliTests.Emg("import", Text("late.txt", Biosppy(3000, row: i => i == 2_499 ? "5000" : "100")), "--out", output);

        AssertOneLineError(run, "count 5000");
        Assert.Equal(before, File.ReadAllBytes(output));
        Assert.Single(Directory.GetFiles(_folder, "kept*"));
        Assert.Empty(Directory.GetFiles(_folder, ".kept*"));
    }

    [Fact]
    public async Task An_output_that_is_the_input_is_refused_also_through_a_symbolic_link_for_import_export_and_process()
    {
        string recording = Path.Combine(_folder, "rec.bdf");
        Assert.Equal(0, (await CliTests.Emg("import", Text("good.txt", Biosppy(1000)), "--out", recording)).ExitCode);
        string link = Path.Combine(_folder, "link.bdf");
        File.CreateSymbolicLink(link, recording);
        Directory.CreateSymbolicLink(Path.Combine(_folder, "same"), _folder);
        byte[] before = File.ReadAllBytes(recording);
        string txt = Path.Combine(_folder, "good.txt");
        byte[] txtBefore = File.ReadAllBytes(txt);

        AssertOneLineError(await CliTests.Emg("export", recording, "--csv", recording), "is the input file");
        AssertOneLineError(await CliTests.Emg("export", recording, "--csv", link), "is the input file");
        AssertOneLineError(await CliTests.Emg("process", link, "--out", Path.Combine(_folder, "same", "rec.bdf")), "is the input file");
        AssertOneLineError(await CliTests.Emg("import", recording, "--out", link), "is the input file");
        AssertOneLineError(await CliTests.Emg("import", Path.Combine(_folder, "same", "rec.bdf"), "--out", recording), "is the input file");

        Assert.Equal(before, File.ReadAllBytes(recording));
        Assert.Equal(txtBefore, File.ReadAllBytes(txt));
    }

    [Fact]
    public async Task Export_and_process_replace_an_existing_output_only_when_complete()
    {
        string recording = Path.Combine(_folder, "rec.bdf");
        Assert.Equal(0, (await CliTests.Emg("import", Text("good.txt", Biosppy(2000)), "--out", recording)).ExitCode);
        string csv = Path.Combine(_folder, "rec.csv");
        await File.WriteAllTextAsync(csv, "old");

        var export = await CliTests.Emg("export", recording, "--csv", csv);
        var process = await CliTests.Emg("process", recording, "--out", Path.Combine(_folder, "env.csv"));

        Assert.True(export.ExitCode == 0, export.Errors);
        Assert.True(process.ExitCode == 0, process.Errors);
        Assert.Equal(1 + 2000, File.ReadAllLines(csv).Length);
        Assert.True(File.ReadAllLines(Path.Combine(_folder, "env.csv")).Length > 1);
        Assert.Empty(Directory.GetFiles(_folder, ".*"));
    }
}
