using EmgBiofeedback.Acquisition;
using EmgBiofeedback.Protocol;

namespace EmgBiofeedback.Recording.Tests;

/// <summary>
/// Nothing invented: annotations go into the records the session writes anyway; they never add records of zeros.
/// Notes that do not fit are dropped and counted; gaps are never dropped and keep their exact positions.
/// </summary>
public sealed class RecorderAnnotationTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("emg-ann-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private sealed record Session(string Path, Recorder Recorder, List<ushort[]?> Instants, int Rate);

    /// <summary>
    /// Records <paramref name="instants"/> of the simulated board; <paramref name="lost"/> says which never arrive
    /// (each run of them is announced as one gap); <paramref name="atInstant"/> runs before each instant.
    /// </summary>
    private Session Record(long instants, Func<long, bool>? lost = null, Action<Recorder, long>? atInstant = null)
    {
        var board = new SimulatedBoard(new SimulatorOptions(), 200);
        BoardInfo info = board.Describe();
        var recorder = new Recorder(new RecorderOptions { Station = "bench-2" }, new RecordingsFolder(_folder), TimeProvider.System);
        recorder.OnBoard(info);
        recorder.Start(new RecordingRequest("bench-2", "S0042", "P-7F3A", []));
        var expected = new List<ushort[]?>();
        var counts = new ushort[info.ChannelCount];
        long missing = 0;
        for (long i = 0; i < instants; i++)
        {
            atInstant?.Invoke(recorder, i);
            board.TrySampleNext(counts, out _);
            if (lost?.Invoke(i) == true)
            {
                missing++;
                expected.Add(null);
                continue;
            }
            if (missing > 0)
            {
                recorder.OnGap(new SampleGap(i, missing, GapCause.SequenceGap));
                missing = 0;
            }
            recorder.OnSamples(i, counts);
            expected.Add(counts.ToArray());
        }
        string path = recorder.CurrentPath!;
        recorder.Stop();
        return new Session(path, recorder, expected, info.SampleRateHz);
    }

    private static HashSet<long> FilledInstants(string path, int rate)
    {
        using var reader = new BdfReader(path);
        var fills = new List<(long Start, long Count, bool IsGap)>();
        foreach (BdfAnnotation a in reader.ReadAnnotations())
        {
            RecordingLayout.TryParseFills(a, rate, fills);
        }
        return fills.SelectMany(f => Enumerable.Range(0, (int)f.Count).Select(k => f.Start + k)).ToHashSet();
    }

    [Fact]
    public void A_marker_flood_adds_no_record_and_every_marker_is_kept_or_counted_as_lost()
    {
        // 7.5 s with 40 markers per instant (the issue's flood: 7.5 s became a 261 MB file of zeros).
        var kept = new List<string>();
        Session s = Record(7_500, atInstant: (r, i) =>
        {
            for (int k = 0; k < 40; k++)
            {
                string label = $"m{i}-{k}";
                if (r.Mark(label))
                {
                    kept.Add(label);
                }
            }
        });

        using var reader = new BdfReader(s.Path);
        Assert.Equal(8, reader.RecordCount); // 7.5 s, the last record padded: nothing more
        Assert.True(new FileInfo(s.Path).Length < 1_000_000, $"{new FileInfo(s.Path).Length} bytes");
        IReadOnlyList<BdfAnnotation> notes = reader.ReadAnnotations();
        HashSet<string> inFile = notes.Select(a => a.Text).ToHashSet();
        Assert.All(kept, label => Assert.Contains(label, inFile));
        Assert.Equal(7_500L * 40, kept.Count + s.Recorder.AnnotationsLostInFile);
        Assert.True(kept.Count >= 7 * new RecorderOptions().NotesPerSecond, $"{kept.Count} markers kept"); // each second has room for its notes
        Assert.Contains(RecordingLayout.LostText(s.Recorder.AnnotationsLostInFile), inFile);
        Assert.Contains(RecordingLayout.SessionStart, inFile);
        Assert.Contains(RecordingLayout.SessionStop, inFile);
        // Each marker lies in the record it was made in.
        Assert.All(notes.Where(a => a.Text.StartsWith('m')), a => Assert.Equal(long.Parse(a.Text[1..a.Text.IndexOf('-')]) / 1000.0, a.OnsetSeconds, 6));
    }

    [Fact]
    public void Many_small_gaps_share_one_note_per_record_and_keep_the_file_as_long_as_the_session_with_exact_fill_positions()
    {
        // Every 7th and 13th instant lost (about 220 gaps a second, as 1% garbage on the line gives).
        Session s = Record(20_000, lost: i => i % 7 == 3 || i % 13 == 5);

        using var reader = new BdfReader(s.Path);
        Assert.Equal(20, reader.RecordCount);
        HashSet<long> filled = FilledInstants(s.Path, s.Rate);
        var expectedFilled = Enumerable.Range(0, s.Instants.Count).Where(i => s.Instants[i] is null).Select(i => (long)i).ToHashSet();
        Assert.Equal(expectedFilled.Order(), filled.Order());
        List<BdfAnnotation> gapNotes = reader.ReadAnnotations().Where(a => a.Text.StartsWith("Gap ", StringComparison.Ordinal)).ToList();
        Assert.Equal(20, gapNotes.Count); // one per record
        Assert.All(gapNotes, n => Assert.Matches(@"^Gap \d+ samples in \d+ gaps \(SequenceGap\): ", n.Text));

        var digital = new int[reader.SamplesPerRecord];
        for (long r = 0; r < reader.RecordCount; r++)
        {
            reader.ReadRecord(r, digital);
            for (int i = 0; i < s.Rate; i++)
            {
                if (s.Instants[(int)(r * s.Rate + i)] is { } counts)
                {
                    Assert.Equal(counts[0], digital[i]);
                }
            }
        }
    }

    [Fact]
    public void A_gap_that_runs_over_record_ends_after_other_gaps_is_split_exactly_and_a_long_single_gap_keeps_one_note()
    {
        // Record 1 (1000..1999) loses 1003 and 1500..3199 (runs over two record ends); then one gap 5000..7499.
        Session s = Record(9_000, lost: i => i == 1003 || i is >= 1500 and < 3200 || i is >= 5000 and < 7500);

        HashSet<long> filled = FilledInstants(s.Path, s.Rate);
        var expectedFilled = Enumerable.Range(0, s.Instants.Count).Where(i => s.Instants[i] is null).Select(i => (long)i).ToHashSet();
        Assert.Equal(expectedFilled.Order(), filled.Order());
        using var reader = new BdfReader(s.Path);
        Assert.Equal(9, reader.RecordCount);
        Assert.Contains(reader.ReadAnnotations(), a => a.Text == "Gap 2500 samples (SequenceGap)" && Math.Abs(a.OnsetSeconds - 5) < 1e-9);
    }

    [Fact]
    public void A_session_that_stops_on_a_record_boundary_writes_its_last_notes_into_the_last_record()
    {
        Session s = Record(3_000);

        using var reader = new BdfReader(s.Path);
        Assert.Equal(3, reader.RecordCount);
        Assert.Contains(reader.ReadAnnotations(), a => a.Text == RecordingLayout.SessionStop && Math.Abs(a.OnsetSeconds - 3) < 1e-9);
        Assert.DoesNotContain(reader.ReadAnnotations(), a => a.Text.StartsWith("Padding", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(1000, 0, 400)] // sparse: runs
    [InlineData(1000, 2, 1)] // every other instant: the mask is shorter
    [InlineData(250, 0, 3)]
    public void A_gap_list_parses_back_to_its_exact_runs(int rate, int skip, int count)
    {
        var rng = new Random(7);
        var runs = new List<(long Start, long Count)>();
        long at = 5 * rate + 3;
        while (at < 6 * rate - count)
        {
            runs.Add((at, rng.Next(1, count + 1)));
            at = runs[^1].Start + runs[^1].Count + (skip > 0 ? skip - 1 + rng.Next(1, 2) : rng.Next(1, 50));
        }
        string text = RecordingLayout.GapListText(runs, "SequenceGap");
        var parsed = new List<(long Start, long Count, bool IsGap)>();

        Assert.True(RecordingLayout.TryParseFills(new BdfAnnotation(runs[0].Start / (double)rate, null, text), rate, parsed));
        Assert.Equal(runs, parsed.Select(p => (p.Start, p.Count)));
        Assert.True(RecordingLayout.TryParseFill(text, out long total, out bool isGap) && isGap);
        Assert.Equal(runs.Sum(r => r.Count), total);
        Assert.True(text.Length + 40 <= RecordingLayout.GapNoteBytes(rate), $"{text.Length} characters for rate {rate}");
    }

    [Fact]
    public void EDFlib_and_MNE_read_a_recording_with_gap_lists_and_a_marker_flood()
    {
        Session s = Record(3_500, lost: i => i % 9 == 4, atInstant: (r, i) => r.Mark($"trick {i}"));

        IReadOnlyList<string> lines = ReferenceReaders.Edflib(s.Path);
        Assert.Contains("filetype 3", lines); // BDF+, strict checks passed
        Assert.Contains("records 4", lines);
        Assert.Contains(lines, l => l.Contains("|Gap ", StringComparison.Ordinal) && l.Contains("gaps (SequenceGap): ", StringComparison.Ordinal));
        System.Text.Json.JsonElement mne = ReferenceReaders.Mne(s.Path);
        Assert.Equal(4000, mne.GetProperty("n_times").GetInt32());
    }
}
