using System.Globalization;
using System.Text;
using System.Text.Json;

namespace EmgBiofeedback.Recording.Tests;

/// <summary>
/// `emg import --events`: each row of a BIDS-style events file becomes one EDF+ annotation with its onset, duration and
/// text exactly (as our reader, EDFlib and MNE read it), none dropped however crowded a second is; every bad row is
/// refused naming the file, line and column, and nothing is written.
/// </summary>
public sealed class ImportEventsTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("emg-import-events-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Write(string name, string content)
    {
        string path = Path.Combine(_folder, name);
        File.WriteAllText(path, content, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        return path;
    }

    /// <summary>A CSV with a header row of two labels and no time column: <paramref name="samples"/> rows of counts.</summary>
    private string Csv(int samples)
    {
        var s = new StringBuilder("SCM L,SCM R\n");
        for (int i = 0; i < samples; i++)
        {
            s.Append(CultureInfo.InvariantCulture, $"{2000 + i % 50},2048\n");
        }
        return Write("emg.csv", s.ToString());
    }

    private static string Tsv(params string[] rows) => "onset\tduration\ttrial_type\n" + string.Concat(rows.Select(r => r + "\n"));

    private static Task<(int ExitCode, string Output, string Errors)> Import(string csv, string events, string output, int rate = 1000) =>
        CliTests.Emg("import", csv, "--out", output, "--rate", rate.ToString(CultureInfo.InvariantCulture), "--bits", "12", "--events", events);

    /// <summary>The annotations that came from the events file: not the importer's own "Imported from" and padding notes.</summary>
    private static List<BdfAnnotation> Events(IEnumerable<BdfAnnotation> annotations) => annotations
        .Where(a => !a.Text.StartsWith("Imported from ", StringComparison.Ordinal) && !a.Text.StartsWith("Padding ", StringComparison.Ordinal))
        .ToList();

    private void AssertNothingWritten(string output)
    {
        Assert.False(File.Exists(output));
        Assert.Empty(Directory.GetFiles(_folder, ".*"));
    }

    [Theory]
    [InlineData("bdf")]
    [InlineData("edf")]
    public async Task Each_row_becomes_an_annotation_with_its_onset_duration_and_text_exactly_as_our_reader_EDFlib_and_MNE_read_it(string format)
    {
        string csv = Csv(3500);
        // Columns in another order, an extra column, CRLF line ends, rows not sorted, UTF-8 beyond ASCII.
        string events = Write("events.tsv", "trial_type\tonset\tvalue\tduration\r\n"
            + "trial 1 work\t2.25\t7\t1.125\r\n"
            + "calibration mvc SCM L\t0.5\t1\t0.75\r\n"
            + "sensory trick\t1.0000001\tn/a\tn/a\r\n"
            + "Schulter links ä → ✓\t3.499\t3\t0\r\n");
        string output = Path.Combine(_folder, $"events.{format}");

        var run = await Import(csv, events, output);

        Assert.True(run.ExitCode == 0, run.Errors);
        Assert.Contains("4 events", run.Output, StringComparison.Ordinal);
        BdfAnnotation[] expected =
        [
            new(0.5, 0.75, "calibration mvc SCM L"),
            new(1.0000001, null, "sensory trick"),
            new(2.25, 1.125, "trial 1 work"),
            new(3.499, 0, "Schulter links ä → ✓"),
        ];
        using (var reader = new BdfReader(output))
        {
            Assert.Equal(expected, Events(reader.ReadAnnotations()));
        }
        using (var recording = new RecordingFile(output))
        {
            Assert.Equal(expected, Events(recording.Annotations));
            Assert.Equal(3500, recording.Annotations.Where(a => a.Text.StartsWith("Padding ", StringComparison.Ordinal)).Select(a => (int)Math.Round(a.OnsetSeconds * 1000)).Single());
        }
        // EDFlib: onsets in units of 100 ns, the duration as written (empty for an instant), the text as UTF-8.
        string[] edflib = ReferenceReaders.Edflib(output).Where(l => l.StartsWith("annotation ", StringComparison.Ordinal)).ToArray();
        Assert.Equal(
            ["annotation 5000000|0.75|calibration mvc SCM L", "annotation 10000001||sensory trick", "annotation 22500000|1.125|trial 1 work", "annotation 34990000|0|Schulter links ä → ✓"],
            edflib.Where(l => !l.Contains("|Imported from ", StringComparison.Ordinal) && !l.Contains("|Padding ", StringComparison.Ordinal)));
        if (format == "bdf")
        {
            // MNE reads an instant as duration 0, and keeps onsets to the microsecond (its annotations are dated).
            JsonElement mne = ReferenceReaders.Mne(output);
            List<BdfAnnotation> read = Events(mne.GetProperty("annotations").EnumerateArray()
                .Select(a => new BdfAnnotation(a.GetProperty("onset").GetDouble(), a.GetProperty("duration").GetDouble(), a.GetProperty("description").GetString()!)));
            Assert.Equal(expected.Select(e => (e.Text, e.DurationSeconds ?? 0)), read.Select(a => (a.Text, a.DurationSeconds ?? -1)));
            Assert.Equal(expected.Select(e => Math.Round(e.OnsetSeconds, 6)), read.Select(a => Math.Round(a.OnsetSeconds, 9)));
        }
    }

    [Fact]
    public async Task A_second_crowded_with_events_gets_annotation_room_for_all_of_them_and_none_is_dropped()
    {
        string csv = Csv(3000);
        // 400 events of about 60 bytes each in the second from 1 s: some 25 kB, against the 936 bytes a recorder's
        // record keeps at 1000 Hz; written in reverse order.
        var rows = Enumerable.Range(0, 400).Select(i => (Onset: $"1.{i:D3}", Text: $"burst event {i:D3} {new string('x', 40)}")).ToList();
        rows.Add(("0.25", "before"));
        rows.Add(("2.5", "after"));
        string events = Write("events.tsv", Tsv(rows.AsEnumerable().Reverse().Select(r => $"{r.Onset}\tn/a\t{r.Text}").ToArray()));
        string bdf = Path.Combine(_folder, "crowded.bdf");

        var run = await Import(csv, events, bdf);

        Assert.True(run.ExitCode == 0, run.Errors);
        using var reader = new BdfReader(bdf);
        Assert.True(reader.Header.AnnotationBytesPerRecord > RecordingLayout.AnnotationBytes(1000, 10), $"{reader.Header.AnnotationBytesPerRecord} bytes");
        Assert.Empty(reader.Warnings);
        Assert.Equal(
            rows.Select(r => new BdfAnnotation(double.Parse(r.Onset, CultureInfo.InvariantCulture), null, r.Text)).OrderBy(a => a.OnsetSeconds),
            Events(reader.ReadAnnotations()));
        Assert.Equal(1 + 402, ReferenceReaders.Edflib(bdf).Count(l => l.StartsWith("annotation ", StringComparison.Ordinal))); // and "Imported from"
    }

    [Fact]
    public async Task Onsets_finer_than_the_tal_s_100_ns_are_written_so_that_round_onset_times_rate_gives_back_their_sample()
    {
        const int rate = 2048;
        string csv = Csv(2 * rate);
        var onsets = new List<string>();
        // Whole samples at 2048 Hz have up to 11 decimals (k/2048): 7 are written.
        onsets.AddRange(new[] { 1, 3, 5, 1001, 2047, 2049, 4095 }.Select(k => (k / (double)rate).ToString("R", CultureInfo.InvariantCulture)));
        // Onsets just below half a sample, where plain 7-decimal rounding would land past the half, on the next sample.
        int nearHalf = 0;
        for (int k = 0; k < 2 * rate - 1 && nearHalf < 6; k++)
        {
            double x = ((k + 0.5) / rate) - 2e-9;
            string text = x.ToString("R", CultureInfo.InvariantCulture);
            double parsed = double.Parse(text, CultureInfo.InvariantCulture);
            double plain = double.Parse(parsed.ToString("F7", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
            if (Math.Round(parsed * rate) == k && Math.Round(plain * rate) != k)
            {
                onsets.Add(text);
                nearHalf++;
            }
        }
        Assert.Equal(6, nearHalf); // the case this test is about is present
        string events = Write("events.tsv", Tsv(onsets.Select((o, i) => $"{o}\tn/a\tevent {i}").ToArray()));
        string bdf = Path.Combine(_folder, "fine.bdf");

        var run = await Import(csv, events, bdf, rate);

        Assert.True(run.ExitCode == 0, run.Errors);
        using var reader = new BdfReader(bdf);
        List<BdfAnnotation> read = Events(reader.ReadAnnotations());
        Assert.Equal(onsets.Count, read.Count);
        foreach (BdfAnnotation a in read)
        {
            double given = double.Parse(onsets[int.Parse(a.Text["event ".Length..], CultureInfo.InvariantCulture)], CultureInfo.InvariantCulture);
            Assert.True(Math.Round(a.OnsetSeconds * rate) == Math.Round(given * rate), $"{a.Text}: {given:R} s written as {a.OnsetSeconds:R} s");
            Assert.True(Math.Abs(a.OnsetSeconds - given) <= 2e-7, $"{a.Text}: {given:R} s written as {a.OnsetSeconds:R} s");
        }
    }

    public static TheoryData<string, string, string> BadEvents => new()
    {
        { "no trial_type column", "onset\tduration\tvalue\n1\t0\tx\n", "events.tsv:1: the header row has no \"trial_type\" column (it has \"onset\", \"duration\", \"value\")" },
        { "no onset column", "duration\ttrial_type\n0\tx\n", "events.tsv:1: the header row has no \"onset\" column" },
        { "no duration column", "onset\ttrial_type\n1\tx\n", "events.tsv:1: the header row has no \"duration\" column" },
        { "commas, not tabs", "onset,duration,trial_type\n1,0,x\n", "events.tsv:1: the header row has no \"onset\" column (it has \"onset,duration,trial_type\")" },
        { "a column twice", "onset\tduration\ttrial_type\tonset\n1\t0\tx\t2\n", "events.tsv:1: the header row has the column \"onset\" twice (columns 1 and 4)" },
        { "onset not a number", Tsv("0.5\t0\tok", "soon\t0\tx"), "events.tsv:3:1: onset \"soon\" is not a number of seconds" },
        { "onset n/a", Tsv("n/a\t0\tx"), "events.tsv:2:1: onset \"n/a\" is not a number of seconds" },
        { "onset NaN", Tsv("NaN\t0\tx"), "events.tsv:2:1: onset \"NaN\" is not a number of seconds" },
        { "onset negative", Tsv("-0.25\t0\tx"), "events.tsv:2:1: onset -0.25 s is negative" },
        { "onset beyond the end", Tsv("1\t0\tok", "3.5\tn/a\tlate"), "events.tsv:3:1: onset 3.5 s is beyond the end of the imported data: 3000 samples at 1000 Hz, the last at 2.999 s" },
        { "onset at the end, on no sample", Tsv("3\tn/a\tend"), "events.tsv:2:1: onset 3 s is beyond the end of the imported data" },
        { "duration not a number", Tsv("1\tlong\tx"), "events.tsv:2:2: duration \"long\" is neither a number of seconds nor n/a" },
        { "duration empty", Tsv("1\t\tx"), "events.tsv:2:2: duration \"\" is neither a number of seconds nor n/a" },
        { "duration negative", Tsv("1\t-2\tx"), "events.tsv:2:2: duration -2 s is negative" },
        { "duration past the end", Tsv("2.5\t0.75\tx"), "events.tsv:2:2: duration 0.75 s from 2.5 s runs past the end of the imported data at 3 s" },
        { "trial_type empty", Tsv("1\t0\t "), "events.tsv:2:3: trial_type is empty" },
        { "trial_type n/a", Tsv("1\t0\tn/a"), "events.tsv:2:3: trial_type is \"n/a\"" },
        { "trial_type with a control character", Tsv("1\t0\tbeep\u0007 here"), "events.tsv:2:3: trial_type has the control character U+0007 at character 5" },
        { "trial_type with an escape sequence", Tsv("1\t0\t\u001b[31mred"), "events.tsv:2:3: trial_type has the control character U+001B at character 1" },
        { "trial_type with a line separator", Tsv("1\t0\tone\u2028two"), "events.tsv:2:3: trial_type has the line separator U+2028 at character 4" },
        { "trial_type that reads as a gap", Tsv("1\t0\tGap 40 samples (electrode off)"), "events.tsv:2:3: trial_type \"Gap 40 samples (electrode off)\" reads as this project's note of filled samples" },
        { "trial_type longer than EDFlib keeps", Tsv($"1\t0\t{new string('é', 300)}"), "events.tsv:2:3: trial_type is 600 bytes of UTF-8" },
        { "a row with a field missing", Tsv("1\t0\tok", "1\t0"), "events.tsv:3: 2 tab-separated fields, the header row has 3" },
        { "an empty file", "", "events.tsv: empty" },
    };

    [Theory]
    [MemberData(nameof(BadEvents))]
    public async Task Each_bad_events_file_or_row_is_refused_naming_file_line_and_column_and_nothing_is_written(string why, string content, string named)
    {
        string csv = Csv(3000);
        string events = Write("events.tsv", content);
        string output = Path.Combine(_folder, "bad.bdf");

        var run = await Import(csv, events, output);

        ImportTests.AssertOneLineError(run, named);
        AssertNothingWritten(output);
        Assert.False(string.IsNullOrEmpty(why));
    }

    [Fact]
    public async Task An_events_file_that_is_not_UTF_8_is_refused_naming_the_line()
    {
        string csv = Csv(3000);
        string events = Path.Combine(_folder, "events.tsv");
        await File.WriteAllBytesAsync(events, [.. Encoding.ASCII.GetBytes("onset\tduration\ttrial_type\n1\t0\tok\n2\t0\tSchulter "), 0xE4, (byte)'\n']); // Latin-1 'ä'
        string output = Path.Combine(_folder, "latin1.bdf");

        ImportTests.AssertOneLineError(await Import(csv, events, output), "events.tsv:3: not UTF-8 text");
        AssertNothingWritten(output);
    }

    [Fact]
    public async Task A_second_whose_events_need_more_than_the_annotation_cap_is_refused_not_cut()
    {
        string csv = Csv(3000);
        // 2100 events of 500 bytes in the second from 2 s: over 1 MiB of annotations in one record.
        string text = new('y', 490);
        string events = Write("events.tsv", Tsv([.. Enumerable.Range(0, 2100).Select(i => string.Create(CultureInfo.InvariantCulture, $"{2 + i / 4000.0:R}\tn/a\t{i:D4} {text}")), "0.5\tn/a\tcalm"]));
        string output = Path.Combine(_folder, "cap.bdf");

        ImportTests.AssertOneLineError(await Import(csv, events, output), "events.tsv:2: the 2100 events from 2 s to 3 s need");
        AssertNothingWritten(output);
    }

    [Fact]
    public async Task A_missing_events_file_or_one_that_is_the_output_is_refused()
    {
        string csv = Csv(3000);
        string events = Write("events.tsv", Tsv("1\t0\tok"));
        string output = Path.Combine(_folder, "out.bdf");

        ImportTests.AssertOneLineError(await Import(csv, Path.Combine(_folder, "none.tsv"), output), $"No events file at {Path.Combine(_folder, "none.tsv")}");
        AssertNothingWritten(output);
        string named = Path.Combine(_folder, "events.bdf");
        File.Copy(events, named);
        ImportTests.AssertOneLineError(await Import(csv, named, named), "is the input file");
        Assert.Equal(Tsv("1\t0\tok"), await File.ReadAllTextAsync(named));
    }
}
