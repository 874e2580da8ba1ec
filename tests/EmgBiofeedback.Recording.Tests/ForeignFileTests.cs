using System.Globalization;
using EmgBiofeedback.Recording.Tests.Support;

namespace EmgBiofeedback.Recording.Tests;

/// <summary>The reader opens files nobody here wrote and reads what MNE-Python reads from them.</summary>
public sealed class ForeignFileTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("emg-foreign-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Theory]
    [MemberData(nameof(ForeignFiles.All), MemberType = typeof(ForeignFiles))]
    public void Reader_opens_each_foreign_file_with_the_header_it_was_written_with(string name)
    {
        ForeignFile file = ForeignFiles.Get(name);
        using var reader = new BdfReader(file.Path);

        Assert.Equal(file.Signals.Count, reader.Header.Signals.Count); // the annotation signal is not an ordinary one
        Assert.Equal(file.RecordDuration, reader.Header.RecordDurationSeconds, 1e-12);
        Assert.Equal(file.Records, reader.RecordCount);
        for (int k = 0; k < file.Signals.Count; k++)
        {
            IntendedSignal want = file.Signals[k];
            var got = reader.Header.Signals[k];
            Assert.Equal(want.Label, got.Label);
            Assert.Equal(want.Unit, got.PhysicalDimension);
            Assert.Equal(want.PhysicalMinimum, got.PhysicalMinimum);
            Assert.Equal(want.PhysicalMaximum, got.PhysicalMaximum);
            Assert.Equal(want.DigitalMinimum, got.DigitalMinimum);
            Assert.Equal(want.DigitalMaximum, got.DigitalMaximum);
            Assert.Equal(want.SamplesPerRecord, got.SamplesPerRecord);
        }
    }

    [Theory]
    [MemberData(nameof(ForeignFiles.All), MemberType = typeof(ForeignFiles))]
    public void Reader_physical_values_equal_MNE_s_to_a_hundredth_of_a_digital_step(string name)
    {
        ForeignFile file = ForeignFiles.Get(name);
        MneFile mne = ForeignFiles.Mne(file.Path);
        using var reader = new BdfReader(file.Path);

        Assert.Equal(mne.Signals.Select(s => s.Name), reader.Header.Signals.Select(s => s.Label));
        for (int k = 0; k < mne.Signals.Count; k++)
        {
            var signal = reader.Header.Signals[k];
            double[] expected = mne.Signals[k].Values;
            int[] digital = ReadAll(reader, k, expected.Length);
            double step = Math.Abs((signal.PhysicalMaximum - signal.PhysicalMinimum) / ((double)signal.DigitalMaximum - signal.DigitalMinimum));
            Assert.Equal(file.Signals[k].Digital, digital); // the samples themselves, bit for bit
            for (int i = 0; i < expected.Length; i++)
            {
                double physical = signal.ToPhysical(digital[i]);
                if (Math.Abs(physical - expected[i]) > step / 100)
                {
                    Assert.Fail($"{name} {signal.Label}[{i}]: reader {physical:R}, MNE {expected[i]:R} (digital {digital[i]}, step {step:R}); warnings: {string.Join("; ", reader.Warnings)}");
                }
            }

            // a read that starts mid-record and crosses record boundaries gives the same samples
            int first = Math.Min(signal.SamplesPerRecord / 2 + 1, expected.Length - 1);
            var middle = new int[Math.Min(2 * signal.SamplesPerRecord + 3, expected.Length - first)];
            Assert.Equal(middle.Length, reader.ReadSignal(k, first, middle));
            Assert.Equal(digital.AsSpan(first, middle.Length).ToArray(), middle);

            // past the end: nothing
            Assert.Equal(0, reader.ReadSignal(k, expected.Length, new int[4]));
        }
    }

    [Theory]
    [MemberData(nameof(ForeignFiles.All), MemberType = typeof(ForeignFiles))]
    public void Reader_annotations_equal_MNE_s_text_onset_and_duration(string name)
    {
        ForeignFile file = ForeignFiles.Get(name);
        MneFile mne = ForeignFiles.Mne(file.Path);
        using var reader = new BdfReader(file.Path);

        var got = reader.ReadAnnotations().ToList(); // time-keeping TALs (empty text) are not annotations
        Assert.Equal(mne.Annotations.Count, got.Count);
        for (int a = 0; a < got.Count; a++)
        {
            Assert.Equal(mne.Annotations[a].Text, got[a].Text); // UTF-8, e.g. "Sensory trick — ✓ Ünïcödé"
            Assert.Equal(mne.Annotations[a].Onset, got[a].OnsetSeconds, 1e-9);
            object? duration = got[a].DurationSeconds; // MNE reads "no duration" as 0
            Assert.Equal(mne.Annotations[a].Duration, duration is double d ? d : 0.0, 1e-9);
            if (duration is null || file.Annotations[a].Duration is null)
            {
                Assert.Equal(file.Annotations[a].Duration is null, duration is null || (double)duration == 0);
            }
        }
    }

    [Theory]
    [InlineData("g_discontinuous_edfplusd.edf")]
    public void Reader_opens_an_EDF_plus_D_file_with_gaps(string name)
    {
        // EDFlib refuses every EDF+D file; MNE joins the records back to back. The reader must at least open it and
        // read every record's samples (above); the record onsets 0, 1, 2, 5, 6, 7.5 s are in ForeignFiles.Get(name)
        // .RecordOnsets for when the reader exposes them (assert them here then), and "after the gap" is at 5.125 s.
        ForeignFile file = ForeignFiles.Get(name);
        using var reader = new BdfReader(file.Path);
        Assert.Equal(file.Records, reader.RecordCount);
        Assert.True(reader.IsDiscontinuous);
        Assert.Equal(file.RecordOnsets, Enumerable.Range(0, (int)reader.RecordCount).Select(r => reader.RecordOnsetSeconds(r)).ToArray());
        Assert.Contains(reader.ReadAnnotations(), a => a.Text == "after the gap" && Math.Abs(a.OnsetSeconds - 5.125) < 1e-9);
    }

    [Fact]
    public async Task Export_places_an_EDF_plus_D_file_s_records_at_their_onsets()
    {
        ForeignFile file = ForeignFiles.Get("g_discontinuous_edfplusd.edf");
        string csv = Path.Combine(_folder, "g.csv");
        var export = await CliTests.Emg("export", file.Path, "--csv", csv);
        Assert.True(export.ExitCode == 0, export.Errors);
        string[] rows = File.ReadAllLines(csv);
        double rate = file.Signals[0].SampleRate;
        long[] starts = rows.Skip(1).Select(r => long.Parse(r.Split(',')[0], CultureInfo.InvariantCulture)).ToArray();
        int n = file.Signals[0].SamplesPerRecord;
        for (int r = 0; r < file.Records; r++)
        {
            Assert.Equal((long)Math.Round(file.RecordOnsets[r] * rate), starts[r * n]); // the gap kept, not closed
        }
    }

    [Theory]
    [MemberData(nameof(ForeignFiles.All), MemberType = typeof(ForeignFiles))]
    public async Task Info_opens_each_foreign_file_and_lists_every_signal_with_rate_unit_and_range(string name)
    {
        ForeignFile file = ForeignFiles.Get(name);
        var info = await CliTests.Emg("info", file.Path);
        Assert.True(info.ExitCode == 0, info.Errors);
        foreach (IntendedSignal s in file.Signals)
        {
            string rate = s.SampleRate.ToString("0.###", CultureInfo.InvariantCulture) + " Hz";
            Assert.Contains(info.Output.Split('\n'), l => l.Contains(s.Label, StringComparison.Ordinal) && l.Contains(rate, StringComparison.Ordinal)
                && l.Contains($"digital {s.DigitalMinimum} to {s.DigitalMaximum}", StringComparison.Ordinal));
        }
    }

    [Theory]
    [MemberData(nameof(ForeignFiles.All), MemberType = typeof(ForeignFiles))]
    public async Task Export_equals_MNE_s_values_to_a_hundredth_of_a_digital_step(string name)
    {
        ForeignFile file = ForeignFiles.Get(name);
        MneFile mne = ForeignFiles.Mne(file.Path);
        string folder = _folder;
        foreach (var group in file.Signals.Select((s, k) => (s, k)).GroupBy(x => x.s.SamplesPerRecord))
        {
            string csv = Path.Combine(folder, $"{group.Key}.csv");
            var export = await CliTests.Emg("export", file.Path, "--csv", csv, "--signals", string.Join(',', group.Select(x => x.s.Label)));
            Assert.True(export.ExitCode == 0, export.Errors);
            string[] rows = File.ReadAllLines(csv);
            string[] header = rows[0].Split(',');
            foreach ((IntendedSignal s, int k) in group)
            {
                double perUnit = s.Unit switch { "uV" => 1, "mV" => 1e3, "V" => 1e6, _ => double.NaN };
                string column = double.IsNaN(perUnit) ? $"{s.Label} {(s.Unit.Length > 0 ? s.Unit : "units")}" : $"{s.Label} uV";
                int at = Array.IndexOf(header, column);
                Assert.True(at > 0, $"no column \"{column}\" in {rows[0]}");
                double factor = double.IsNaN(perUnit) ? 1 : perUnit;
                double[] expected = mne.Signals[k].Values;
                Assert.Equal(expected.Length, rows.Length - 1);
                for (int i = 0; i < expected.Length; i++)
                {
                    double got = double.Parse(rows[i + 1].Split(',')[at], CultureInfo.InvariantCulture) / factor;
                    if (Math.Abs(got - expected[i]) > Math.Abs(s.Step) / 100)
                    {
                        Assert.Fail($"{name} {s.Label}[{i}]: export {got:R}, MNE {expected[i]:R}, step {s.Step:R}");
                    }
                }
            }
        }
    }

    [Theory]
    [InlineData("e_semg_millivolts_edfplus.edf")]
    [InlineData("e_semg_volts_bdfplus.bdf")]
    public async Task Process_on_an_sEMG_signal_in_mV_or_V_equals_SciPy_s_envelope_on_MNE_s_values_within_1_percent(string name)
    {
        ForeignFile file = ForeignFiles.Get(name);
        string signal = file.Signals.First(s => s.Label.StartsWith("EMG", StringComparison.Ordinal)).Label;
        ScipyEnvelope reference = ForeignFiles.Envelope(file.Path, signal);
        string csv = Path.Combine(_folder, "p.csv");
        var process = await CliTests.Emg("process", file.Path, "--out", csv, "--signals", signal);
        Assert.True(process.ExitCode == 0, process.Errors);
        string[] rows = File.ReadAllLines(csv);
        int decimation = (int)Math.Round(reference.SampleRate / 50);
        int compared = 0;
        foreach (string row in rows.Skip(1))
        {
            string[] f = row.Split(',');
            if (f[4] != "1")
            {
                continue; // settling
            }
            long index = long.Parse(f[0], CultureInfo.InvariantCulture);
            double rms = double.Parse(f[2], CultureInfo.InvariantCulture);
            double expected = reference.Rms[(index + 1) / decimation - 1];
            Assert.True(Math.Abs(rms - expected) <= 0.01 * expected, $"{name} at sample {index}: ours {rms} µV, SciPy on MNE's values {expected} µV");
            compared++;
        }
        Assert.True(compared > 100, $"only {compared} valid envelope values");
    }

    private static int[] ReadAll(BdfReader reader, int signal, int count)
    {
        var all = new int[count];
        int done = 0;
        while (done < count)
        {
            // 997 samples at a time: never aligned with a record, so every call crosses record boundaries
            int n = reader.ReadSignal(signal, done, all.AsSpan(done, Math.Min(997, count - done)));
            Assert.True(n > 0, $"ReadSignal({signal}, {done}) read nothing; {count} samples expected");
            done += n;
        }
        return all;
    }
}
