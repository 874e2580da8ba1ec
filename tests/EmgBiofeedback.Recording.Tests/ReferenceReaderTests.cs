using System.Text.Json;
using EmgBiofeedback.Protocol;

namespace EmgBiofeedback.Recording.Tests;

public sealed class ReferenceReaderTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("emg-rec-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private SimulatedRecording RecordWithGapAndMarker() =>
        SimulatedRecording.Make(_folder, 5.5, gapAt: 2300, gapLength: 37, atInstant: (r, i) =>
        {
            if (i == 1500)
            {
                r.Mark("Sensory trick");
            }
        });

    [Fact]
    public void Mne_reads_rate_labels_microvolts_and_annotations_of_a_recorded_session()
    {
        SimulatedRecording rec = RecordWithGapAndMarker();
        JsonElement mne = ReferenceReaders.Mne(rec.Path);

        Assert.Equal(1000.0, mne.GetProperty("sfreq").GetDouble());
        Assert.Equal(rec.Labels.Select(l => "EMG " + l), mne.GetProperty("ch_names").EnumerateArray().Select(e => e.GetString()!)); // EDF+ labels: type, then muscle and side
        Assert.Equal(6000, mne.GetProperty("n_times").GetInt32()); // 5.537 s of instants padded to whole records

        double scale = rec.MicrovoltsPerCount;
        double zero = 1 << (rec.Board.AdcBits - 1);
        JsonElement data = mne.GetProperty("data");
        for (int c = 0; c < rec.Board.ChannelCount; c++)
        {
            double[] channel = data[c].EnumerateArray().Select(e => e.GetDouble()).ToArray();
            for (int i = 0; i < channel.Length; i++)
            {
                // Recorded instants carry their counts in µV; filled ones (gap, end padding) read 0 µV.
                double expected = i < rec.Instants.Count && rec.Instants[i] is { } counts ? (counts[c] - zero) * scale : 0;
                Assert.True(Math.Abs(channel[i] - expected) <= 1e-3 * scale, $"channel {c} instant {i}: {channel[i]} µV, expected {expected}");
            }
        }

        var annotations = mne.GetProperty("annotations").EnumerateArray()
            .Select(a => (Onset: a.GetProperty("onset").GetDouble(), Duration: a.GetProperty("duration").GetDouble(), Text: a.GetProperty("description").GetString()!))
            .ToList();
        Assert.Contains((0.0, 0.0, RecordingLayout.SessionStart), annotations);
        Assert.Contains((1.5, 0.0, "Sensory trick"), annotations);
        Assert.Contains(annotations, a => a.Text == "Gap 37 samples (SequenceGap)" && Math.Abs(a.Onset - 2.3) < 1e-9 && Math.Abs(a.Duration - 0.037) < 1e-9);
        Assert.Contains(annotations, a => a.Text == RecordingLayout.SessionStop && Math.Abs(a.Onset - 5.537) < 1e-9);
        Assert.Contains(annotations, a => a.Text == "Padding 463 samples" && Math.Abs(a.Onset - 5.537) < 1e-9);
    }

    [Fact]
    public void Edflib_accepts_the_file_as_BDF_plus_with_pseudonymous_patient_and_station()
    {
        SimulatedRecording rec = RecordWithGapAndMarker();
        IReadOnlyList<string> lines = ReferenceReaders.Edflib(rec.Path);

        Assert.Contains("filetype 3", lines); // EDFLIB_FILETYPE_BDFPLUS
        Assert.Contains($"signals {rec.Board.ChannelCount}", lines);
        Assert.Contains("records 6", lines);
        Assert.Contains("patient_code P-7F3A", lines);
        Assert.Contains("admincode S0042", lines);
        Assert.Contains(lines, l => l.StartsWith("equipment bench-2", StringComparison.Ordinal));
        for (int c = 0; c < rec.Board.ChannelCount; c++)
        {
            string line = lines.Single(l => l.StartsWith($"signal {c}|", StringComparison.Ordinal));
            string[] parts = line.Split('|');
            Assert.Equal("EMG " + rec.Labels[c], parts[1].Trim());
            Assert.Equal("1000", parts[2]);
            Assert.Equal("6000", parts[3]);
            double first = double.Parse(parts[4].Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal((rec.Instants[0]![c] - 512) * rec.MicrovoltsPerCount, first, 3);
        }
        Assert.Contains(lines, l => l.StartsWith("annotation ", StringComparison.Ordinal) && l.EndsWith("|Gap 37 samples (SequenceGap)", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.EndsWith("|Sensory trick", StringComparison.Ordinal));
    }

    [Fact]
    public void Own_reader_returns_the_counts_and_marks_filled_instants()
    {
        SimulatedRecording rec = RecordWithGapAndMarker();
        using var file = new RecordingFile(rec.Path);

        Assert.Equal(rec.Board with { FirmwareMajor = 0, FirmwareMinor = 0, BoardName = "replay", FirmwarePatch = 0, NextSequence = 0 }, file.Board with { Streaming = rec.Board.Streaming, Scales = null });
        // The recording's own scale, in the very doubles the live chain used for the station's board (gain 200).
        Assert.All(file.Scales, s => Assert.Equal(EmgBiofeedback.Protocol.ChannelScale.ForAdc(10, 5000, 200), s));
        var counts = new ushort[1000 * file.ChannelCount];
        var recorded = new bool[1000];
        for (long r = 0; r < file.RecordCount; r++)
        {
            file.ReadRecord(r, counts, recorded);
            for (int i = 0; i < 1000; i++)
            {
                long at = r * 1000 + i;
                ushort[]? expected = at < rec.Instants.Count ? rec.Instants[(int)at] : null;
                Assert.Equal(expected is not null, recorded[i]);
                if (expected is not null)
                {
                    Assert.Equal(expected, counts.AsSpan(i * file.ChannelCount, file.ChannelCount).ToArray());
                }
            }
        }
    }

    [Fact]
    public void Header_fields_carry_no_patient_name_and_name_the_file_by_date_station_session()
    {
        SimulatedRecording rec = RecordWithGapAndMarker();
        Assert.Matches(@"^\d{8}-\d{6}_bench-2_S0042\.bdf$", Path.GetFileName(rec.Path));
        using var reader = new BdfReader(rec.Path);
        Assert.Equal("P-7F3A X X X", reader.Header.PatientId);
        Assert.StartsWith("Startdate ", reader.Header.RecordingId, StringComparison.Ordinal);
        Assert.Equal("BDF+C", reader.Header.Reserved);
        Assert.False(reader.Truncated);
        Assert.Equal(WireFormat.ProtocolVersion, 1);
    }
}
