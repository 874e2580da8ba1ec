using System.Globalization;
using System.Text;

namespace EmgBiofeedback.Recording.Tests;

/// <summary>
/// `emg import`: channel labels from a CSV's header row or `--labels` (refused when they differ, or when a recording
/// would not keep them as given); a CSV time column skipped, checked against `--rate`, or giving the rate itself.
/// </summary>
public sealed class ImportLabelsAndTimeTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("emg-import-labels-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Write(string name, string content)
    {
        string path = Path.Combine(_folder, name);
        File.WriteAllText(path, content);
        return path;
    }

    /// <summary>A CSV: an optional header row, then <paramref name="rows"/> rows of <paramref name="row"/>(i).</summary>
    private static string Csv(string? header, int rows, Func<int, string> row)
    {
        var s = new StringBuilder();
        if (header is not null)
        {
            s.Append(header).Append('\n');
        }
        for (int i = 0; i < rows; i++)
        {
            s.Append(row(i)).Append('\n');
        }
        return s.ToString();
    }

    private static string Counts(int i, int channels) => string.Join(',', Enumerable.Range(0, channels).Select(c => (1000 + (100 * c) + (i % 7)).ToString(CultureInfo.InvariantCulture)));

    private static string Seconds(double s) => s.ToString("R", CultureInfo.InvariantCulture);

    private static string Biosppy(string? labelsLine, int rows) =>
        "# Simple Text Format\n# Sampling Rate (Hz):= 1000.00\n# Resolution:= 12\n" + (labelsLine is null ? "" : $"# Labels:= {labelsLine}\n")
        + string.Concat(Enumerable.Range(0, rows).Select(i => $"{2000 + (i % 9)}\n"));

    private void AssertNothingWritten(string output)
    {
        Assert.False(File.Exists(output));
        Assert.Empty(Directory.GetFiles(_folder, ".*"));
    }

    private static IReadOnlyList<string> LabelsOf(string recording)
    {
        using var r = new RecordingFile(recording);
        return r.Labels;
    }

    [Fact]
    public async Task Labels_come_from_the_CSV_header_row()
    {
        string csv = Write("labelled.csv", Csv("SCM L,SCM R,UT L,UT R", 1000, i => Counts(i, 4)));
        string bdf = Path.Combine(_folder, "labelled.bdf");

        var run = await CliTests.Emg("import", csv, "--out", bdf, "--rate", "1000", "--bits", "12");

        Assert.True(run.ExitCode == 0, run.Errors);
        Assert.Equal(["SCM L", "SCM R", "UT L", "UT R"], LabelsOf(bdf));
        using var reader = new BdfReader(bdf);
        Assert.Equal(["EMG SCM L", "EMG SCM R", "EMG UT L", "EMG UT R"], reader.Header.Signals.Select(s => s.Label));
    }

    [Fact]
    public async Task Labels_come_from_the_labels_option_trimmed_when_the_file_names_no_channels()
    {
        string csv = Write("bare.csv", Csv(null, 1000, i => Counts(i, 4)));
        string txt = Write("bare.txt", Biosppy(null, 1000));
        string fromCsv = Path.Combine(_folder, "csv.bdf");
        string fromTxt = Path.Combine(_folder, "txt.edf");

        var runCsv = await CliTests.Emg("import", csv, "--out", fromCsv, "--rate", "1000", "--bits", "12", "--labels", " SCM L, SCM R ,UT L,UT R");
        var runTxt = await CliTests.Emg("import", txt, "--out", fromTxt, "--labels", "Frontalis");

        Assert.True(runCsv.ExitCode == 0, runCsv.Errors);
        Assert.True(runTxt.ExitCode == 0, runTxt.Errors);
        Assert.Equal(["SCM L", "SCM R", "UT L", "UT R"], LabelsOf(fromCsv));
        Assert.Equal(["Frontalis"], LabelsOf(fromTxt));
        Assert.Contains("4 channels (SCM L, SCM R, UT L, UT R)", runCsv.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Labels_the_option_repeats_from_the_header_are_accepted()
    {
        string csv = Write("labelled.csv", Csv("time,SCM L,SCM R", 1000, i => $"{Seconds(i / 1000.0)},{Counts(i, 2)}"));
        string bdf = Path.Combine(_folder, "same.bdf");

        var run = await CliTests.Emg("import", csv, "--out", bdf, "--bits", "12", "--labels", "SCM L, SCM R");

        Assert.True(run.ExitCode == 0, run.Errors);
        Assert.Equal(["SCM L", "SCM R"], LabelsOf(bdf));
    }

    public static TheoryData<string, string, string, string[], string> BadLabels => new()
    {
        { "fewer labels than columns", "x.csv", Csv(null, 10, i => Counts(i, 4)), ["--labels", "A,B"], "x.csv:1: 4 data columns but --labels names 2 channels" },
        { "an empty label", "x.csv", Csv(null, 10, i => Counts(i, 3)), ["--labels", "A,,C"], "--labels: label 2 is empty" },
        { "a blank label", "x.csv", Csv(null, 10, i => Counts(i, 2)), ["--labels", "A,  "], "--labels: label 2 is empty" },
        { "a label longer than kept", "x.csv", Csv(null, 10, i => Counts(i, 2)), ["--labels", "Sternocleido L,B"], "--labels: label 1 \"Sternocleido L\" is 14 characters: a recording keeps 12" },
        { "a label beyond ASCII", "x.csv", Csv(null, 10, i => Counts(i, 2)), ["--labels", "A,Trapèze"], "--labels: label 2 \"Trapèze\" has U+00E8 at character 5" },
        { "a label twice", "x.csv", Csv(null, 10, i => Counts(i, 3)), ["--labels", "SCM,UT,SCM"], "--labels: labels 1 and 3 are both \"SCM\"" },
        { "option against the header row", "x.csv", Csv("SCM L,SCM R", 10, i => Counts(i, 2)), ["--labels", "SCM R,SCM L"], "x.csv:1: the file labels the channels \"SCM L\", \"SCM R\" but --labels says \"SCM R\", \"SCM L\"" },
        { "option against a BioSPPy Labels line", "x.txt", Biosppy("EMG", 10), ["--labels", "SCM L"], "x.txt:4: the file labels the channels \"EMG\" but --labels says \"SCM L\"" },
        { "a header label longer than kept", "x.csv", Csv("A,Sternocleidomastoid", 10, i => Counts(i, 2)), [], "x.csv:1:2: label \"Sternocleidomastoid\" is 19 characters" },
        { "an empty header label", "x.csv", Csv("time,A,,C", 10, i => $"{Seconds(i / 1000.0)},{Counts(i, 3)}"), [], "x.csv:1:3: label is empty" },
        { "a header label twice", "x.csv", Csv("A,B,A", 10, i => Counts(i, 3)), [], "x.csv:1: labels 1 and 3 are both \"A\"" },
    };

    [Theory]
    [MemberData(nameof(BadLabels))]
    public async Task Each_bad_label_is_refused_naming_it_and_nothing_is_written(string why, string name, string content, string[] options, string named)
    {
        string source = Write(name, content);
        string output = Path.Combine(_folder, "bad.bdf");
        string[] csvOptions = name.EndsWith(".csv", StringComparison.Ordinal) ? ["--rate", "1000", "--bits", "12"] : [];

        var run = await CliTests.Emg(["import", source, "--out", output, .. csvOptions, .. options]);

        ImportTests.AssertOneLineError(run, named);
        AssertNothingWritten(output);
        Assert.False(string.IsNullOrEmpty(why));
    }

    [Fact]
    public async Task A_time_column_in_any_case_and_any_position_is_skipped_not_taken_for_a_channel()
    {
        string csv = Write("timed.csv", Csv("SCM L,Time_S,SCM R", 1200, i => $"{1000 + (i % 7)},{Seconds(i / 500.0)},{2000 + (i % 5)}"));
        string bdf = Path.Combine(_folder, "timed.bdf");

        var run = await CliTests.Emg("import", csv, "--out", bdf, "--rate", "500", "--bits", "12");

        Assert.True(run.ExitCode == 0, run.Errors);
        Assert.Equal(["SCM L", "SCM R"], LabelsOf(bdf));
        using var reader = new BdfReader(bdf);
        var digital = new int[reader.SamplesPerRecord];
        reader.ReadRecord(1, digital);
        Assert.Equal(Enumerable.Range(500, 500).Select(i => 1000 + (i % 7)), digital[..500]); // 12-bit counts stored as they are
        Assert.Equal(Enumerable.Range(500, 500).Select(i => 2000 + (i % 5)), digital[500..1000]);
        Assert.DoesNotContain("(from the time column)", run.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("time", 500, "R")]
    [InlineData("TIMESTAMP", 2048, "F6")] // rounded to the microsecond: steps of 488 or 489 µs
    [InlineData("time_s", 250, "R")]
    public async Task Without_rate_a_constant_time_step_gives_the_rate(string column, int rate, string format)
    {
        string csv = Write("timed.csv", Csv($"{column},A,B", 3 * rate, i => $"{(10 + (i / (double)rate)).ToString(format, CultureInfo.InvariantCulture)},{Counts(i, 2)}"));
        string bdf = Path.Combine(_folder, "timed.bdf");

        var run = await CliTests.Emg("import", csv, "--out", bdf, "--bits", "12");

        Assert.True(run.ExitCode == 0, run.Errors);
        Assert.Contains($"x {3 * rate} samples at {rate} Hz (from the time column)", run.Output, StringComparison.Ordinal);
        using var recording = new RecordingFile(bdf);
        Assert.Equal(rate, recording.SampleRateHz);
        Assert.Equal(["A", "B"], recording.Labels);
    }

    [Fact]
    public async Task A_rate_option_within_0_1_percent_of_the_time_column_is_accepted()
    {
        // The time column says 1000.8 Hz (0.08 % off): a clock's drift, not another rate.
        string csv = Write("drift.csv", Csv("time,A", 3000, i => $"{Seconds(i / 1000.8)},{Counts(i, 1)}"));
        string bdf = Path.Combine(_folder, "drift.bdf");

        var run = await CliTests.Emg("import", csv, "--out", bdf, "--rate", "1000", "--bits", "12");

        Assert.True(run.ExitCode == 0, run.Errors);
        using var recording = new RecordingFile(bdf);
        Assert.Equal(1000, recording.SampleRateHz);
    }

    public static TheoryData<string, string, string[], string> BadTimes => new()
    {
        { "rate option against the time column", Csv("time,A", 3000, i => $"{Seconds(i / 1002.0)},{Counts(i, 1)}"), ["--rate", "1000"], "x.csv: the time column (column 1) steps 0.000998004 s, 1002 Hz, but --rate says 1000 Hz" },
        { "a time that does not advance", Csv("time,A", 30, i => $"5,{Counts(i, 1)}"), ["--rate", "1000"], "x.csv: the time column does not advance (5 s on every row)" },
        { "a gap in the time column", Csv("time,A", 3000, i => $"{Seconds((i < 1500 ? i : i + 10) / 1000.0)},{Counts(i, 1)}"), [], "x.csv:1502:1: the time column steps 0.011 s here but 0.00100333 s on average: no constant step" },
        { "a step of no whole number of Hz", Csv("time,A", 3000, i => $"{Seconds(i * 0.003)},{Counts(i, 1)}"), [], "x.csv: the time column's step of 0.003 s makes 333.3333 Hz, not a whole number of Hz" },
        { "a time that is not a number", Csv("time,A", 30, i => $"{(i == 3 ? "0.00a" : Seconds(i / 1000.0))},{Counts(i, 1)}"), [], "x.csv:5:1: time \"0.00a\" is not a number of seconds" },
        { "a time going back", Csv("time,A", 30, i => $"{Seconds((i == 3 ? 1 : i) / 1000.0)},{Counts(i, 1)}"), ["--rate", "1000"], "x.csv:5:1: time 0.001 s comes before the 0.002 s of line 4" },
        { "two time columns", Csv("time,A,timestamp", 30, i => $"{Seconds(i / 1000.0)},{Counts(i, 1)},{i}"), [], "x.csv:1:3: a second time column, \"timestamp\" (the first is column 1, \"time\")" },
        { "a row without its time", Csv("time,A,B", 30, i => i == 7 ? Counts(i, 2) : $"{Seconds(i / 1000.0)},{Counts(i, 2)}"), ["--rate", "1000"], "x.csv:9: 2 values, expected 3 (a time and 2 channels)" },
        { "one row: no step", Csv("time,A", 1, i => $"0,{Counts(i, 1)}"), [], "x.csv: one row: its time column has no step" },
        { "no rate and no time column", Csv("A,B", 30, i => Counts(i, 2)), [], "x.csv: no time column (a header column named time, time_s, timestamp) says the sample rate: give --rate" },
        { "no rate and no header row", Csv(null, 30, i => Counts(i, 2)), [], "x.csv: no time column" },
    };

    [Theory]
    [MemberData(nameof(BadTimes))]
    public async Task Each_bad_time_column_is_refused_naming_it_and_nothing_is_written(string why, string content, string[] options, string named)
    {
        string source = Write("x.csv", content);
        string output = Path.Combine(_folder, "bad.bdf");

        var run = await CliTests.Emg(["import", source, "--out", output, "--bits", "12", .. options]);

        ImportTests.AssertOneLineError(run, named);
        AssertNothingWritten(output);
        Assert.False(string.IsNullOrEmpty(why));
    }

    [Fact]
    public async Task A_CSV_without_bits_is_refused_before_its_rate_is_looked_for()
    {
        string source = Write("x.csv", Csv("time,A", 30, i => $"{Seconds(i / 1000.0)},{Counts(i, 1)}"));

        ImportTests.AssertOneLineError(await CliTests.Emg("import", source, "--out", Path.Combine(_folder, "x.bdf")), "give --bits");
    }
}
