using EmgBiofeedback.Recording.Tests.Support;

namespace EmgBiofeedback.Recording.Tests;

/// <summary>
/// The foreign fixtures themselves are right, and none of our code is involved: EDFlib wrote them (or make_files.c by
/// hand where EDFlib cannot), MNE-Python and EDFlib's strict reader read back what make_files.c intended. The tests of
/// the reader (tests/reference/edflib/PENDING_ForeignFileTests.cs.txt) compare it with MNE on these files.
/// </summary>
public sealed class ForeignFileFixtureTests
{
    [Fact]
    public void Make_files_writes_every_fixture_with_its_sidecar_and_each_is_small()
    {
        foreach (string name in ForeignFiles.Names)
        {
            var info = new FileInfo(ForeignFiles.PathOf(name));
            Assert.True(info.Exists, $"{name} missing in {ForeignFiles.Folder}");
            Assert.InRange(info.Length, 256, 2 * 1024 * 1024 - 1);
            ForeignFile file = ForeignFiles.Get(name);
            Assert.NotEmpty(file.Signals);
            foreach (IntendedSignal s in file.Signals)
            {
                Assert.Equal(s.SamplesPerRecord * file.Records, s.Digital.Length);
                Assert.All(s.Digital, d => Assert.InRange(d, s.DigitalMinimum, s.DigitalMaximum));
            }
        }
    }

    [Fact]
    public void The_fixtures_cover_the_variants_the_reader_must_open()
    {
        ForeignFile Get(string name) => ForeignFiles.Get(name);

        // a. signed 16-bit range, extremes actually present
        IntendedSignal range = Get("a_signed_edfplus.edf").Signals.Single(s => s.Label == "EMG Range");
        Assert.Equal((-32768, 32767), (range.DigitalMinimum, range.DigitalMaximum));
        Assert.Contains(-32768, range.Digital);
        Assert.Contains(32767, range.Digital);
        // b. 20+ signals, BDF+, 24-bit extremes present
        ForeignFile many = Get("b_24_signals_bdfplus.bdf");
        Assert.Equal("BDF+", many.FileType);
        Assert.True(many.Signals.Count >= 20);
        Assert.Contains(-8388608, many.Signals[2].Digital);
        Assert.Contains(8388607, many.Signals[2].Digital);
        // c. mixed rates, "g" and an empty unit
        ForeignFile mixed = Get("c_mixed_rates_edfplus.edf");
        Assert.Equal([2048.0, 512.0, 32.0, 32.0, 32.0, 512.0], mixed.Signals.Select(s => s.SampleRate));
        Assert.Contains(mixed.Signals, s => s.Unit == "g");
        Assert.Contains(mixed.Signals, s => s.Unit.Length == 0);
        // d. 0.5 s and 10 s records
        Assert.Equal(0.5, Get("d_half_second_records_edfplus.edf").RecordDuration);
        Assert.Equal(10.0, Get("d_ten_second_records_bdfplus.bdf").RecordDuration);
        // e. sEMG in mV (several seconds at 2 kHz) and in V
        ForeignFile mv = Get("e_semg_millivolts_edfplus.edf");
        Assert.All(mv.Signals, s => Assert.Equal("mV", s.Unit));
        Assert.True(mv.Records * mv.RecordDuration >= 6 && mv.Signals[0].SampleRate >= 1000);
        Assert.Equal("V", Get("e_semg_volts_bdfplus.bdf").Signals[0].Unit);
        // f. 0 lies between two digital values
        IntendedSignal offset = Get("f_zero_between_counts_edfplus.edf").Signals[0];
        double zeroAt = offset.DigitalMinimum - offset.PhysicalMinimum / offset.Step;
        Assert.InRange(Math.Abs(zeroAt - Math.Round(zeroAt)), 0.05, 0.5);
        // g. EDF+D with a gap, by hand
        ForeignFile gap = Get("g_discontinuous_edfplusd.edf");
        Assert.True(gap.Discontinuous);
        Assert.Contains(gap.RecordOnsets.Zip(gap.RecordOnsets.Skip(1)), p => p.Second - p.First > gap.RecordDuration);
        Assert.Equal("EDF+D", ReservedField(gap.Path));
        // h. non-ASCII annotations with and without duration
        ForeignFile utf8 = Get("h_utf8_annotations_edfplus.edf");
        Assert.Contains(utf8.Annotations, a => a.Text.Contains('✓', StringComparison.Ordinal) && a.Duration is not null);
        Assert.Contains(utf8.Annotations, a => a.Text.Contains('Ü', StringComparison.Ordinal) && a.Duration is null);
        // i. annotation signal not last
        ForeignFile notLast = Get("i_annotations_not_last_edfplus.edf");
        Assert.InRange(notLast.AnnotationSignalIndex, 0, notLast.Signals.Count - 1);
        // j. plain BDF and plain EDF
        Assert.Equal(("BDF", "24BIT"), (Get("j_plain_bdf.bdf").FileType, ReservedField(ForeignFiles.PathOf("j_plain_bdf.bdf"))));
        Assert.Equal(("EDF", ""), (Get("j_plain_edf.edf").FileType, ReservedField(ForeignFiles.PathOf("j_plain_edf.edf"))));
    }

    [Theory]
    [MemberData(nameof(ForeignFiles.All), MemberType = typeof(ForeignFiles))]
    public void Mne_reads_each_fixture_as_make_files_intended_it(string name)
    {
        ForeignFile file = ForeignFiles.Get(name);
        MneFile mne = ForeignFiles.Mne(file.Path);

        Assert.Equal(file.Signals.Select(s => s.Label), mne.Signals.Select(s => s.Name));
        Assert.Equal(file.Records, mne.Records);
        Assert.Equal(file.RecordDuration, mne.RecordDuration);
        for (int k = 0; k < file.Signals.Count; k++)
        {
            IntendedSignal want = file.Signals[k];
            MneSignal got = mne.Signals[k];
            Assert.Equal(want.Unit, got.Unit);
            Assert.Equal(want.SampleRate, got.SampleRate);
            Assert.Equal(want.SamplesPerRecord, got.SamplesPerRecord);
            Assert.Equal(want.Digital.Length, got.Values.Length);
            double tolerance = Math.Abs(want.Step) / 100;
            for (int i = 0; i < got.Values.Length; i++)
            {
                double expected = want.ToPhysical(want.Digital[i]);
                if (Math.Abs(got.Values[i] - expected) > tolerance)
                {
                    Assert.Fail($"{name} {want.Label}[{i}]: MNE {got.Values[i]:R}, intended {expected:R} (digital {want.Digital[i]}, step {want.Step:R})");
                }
            }
        }

        // MNE reads a TAL without a duration as duration 0.
        Assert.Equal(file.Annotations.Count, mne.Annotations.Count);
        for (int a = 0; a < file.Annotations.Count; a++)
        {
            Assert.Equal(file.Annotations[a].Text, mne.Annotations[a].Text);
            Assert.Equal(file.Annotations[a].Onset, mne.Annotations[a].Onset, 1e-9);
            Assert.Equal(file.Annotations[a].Duration ?? 0, mne.Annotations[a].Duration, 1e-9);
        }
    }

    [Theory]
    [MemberData(nameof(ForeignFiles.All), MemberType = typeof(ForeignFiles))]
    public void Edflib_strict_reader_reads_each_fixture_as_intended(string name)
    {
        ForeignFile file = ForeignFiles.Get(name);
        if (file.Discontinuous)
        {
            // EDFlib 1.23 refuses every EDF+D/BDF+D file, gaps or not, after checking its header:
            // EDFLIB_FILE_IS_DISCONTINUOUS (-10), not EDFLIB_FILE_CONTAINS_FORMAT_ERRORS (-3).
            (int code, string stdout, string stderr) = ForeignFiles.TryEdflib(file.Path, out EdflibFile? refused);
            Assert.Null(refused);
            Assert.True(code == 1 && stderr.Contains("error -10 ", StringComparison.Ordinal), $"exit {code}: {stderr}{stdout}");
            return;
        }

        EdflibFile edflib = ForeignFiles.Edflib(file.Path);
        Assert.Equal(file.FileType, edflib.FileType);
        Assert.Equal(file.Signals.Count, edflib.SignalCount);
        Assert.Equal(file.Records, edflib.Records);
        Assert.Equal(file.RecordDuration, edflib.RecordDuration, 1e-9);
        for (int k = 0; k < file.Signals.Count; k++)
        {
            IntendedSignal want = file.Signals[k];
            EdflibSignal got = edflib.Signals[k];
            Assert.Equal(
                (want.Label, want.Unit, want.PhysicalMinimum, want.PhysicalMaximum, want.DigitalMinimum, want.DigitalMaximum, want.SamplesPerRecord),
                (got.Label, got.Unit, got.PhysicalMinimum, got.PhysicalMaximum, got.DigitalMinimum, got.DigitalMaximum, got.SamplesPerRecord));
            Assert.Equal(want.Digital, got.Digital);
        }
        Assert.Equal(file.Annotations.Count, edflib.Annotations.Count);
        for (int a = 0; a < file.Annotations.Count; a++)
        {
            Assert.Equal(file.Annotations[a].Text, edflib.Annotations[a].Text);
            Assert.Equal(file.Annotations[a].Onset, edflib.Annotations[a].Onset, 1e-7);
            Assert.Equal(file.Annotations[a].Duration is null, edflib.Annotations[a].Duration is null);
            Assert.Equal(file.Annotations[a].Duration ?? 0, edflib.Annotations[a].Duration ?? 0, 1e-7);
        }
    }

    [Theory]
    [InlineData("e_semg_millivolts_edfplus.edf", "EMG Flexor", 1000.0)]
    [InlineData("e_semg_volts_bdfplus.bdf", "EMG Volts", 1e6)]
    public void Scipy_reference_envelope_of_the_semg_fixtures_follows_the_bursts(string name, string signal, double microvoltsPerUnit)
    {
        ForeignFile file = ForeignFiles.Get(name);
        IntendedSignal intended = file.Signals.Single(s => s.Label == signal);
        ScipyEnvelope envelope = ForeignFiles.Envelope(file.Path, signal);

        // The chain's input is the file's physical value in µV.
        Assert.Equal(intended.SampleRate, envelope.SampleRate);
        Assert.Equal(intended.Digital.Length, envelope.Microvolts.Length);
        for (int i = 0; i < intended.Digital.Length; i++)
        {
            Assert.Equal(intended.ToPhysical(intended.Digital[i]) * microvoltsPerUnit, envelope.Microvolts[i], Math.Abs(intended.Step) * microvoltsPerUnit / 100);
        }

        // 50 envelope samples a second; make_files.c bursts 1 s every 2 s (0.5-1.5 s, 2.5-3.5 s, ...) at
        // 0.05, 0.4, 1.0, 0.2, 0.7, 0.1 mV of ~unit-RMS band-limited noise, over a 5 µV floor and 20 µV of 50 Hz hum.
        double[] amplitudes = [0.05, 0.4, 1.0, 0.2, 0.7, 0.1];
        double seconds = intended.Digital.Length / intended.SampleRate;
        Assert.Equal((int)(seconds * 50), envelope.Rms.Length);
        for (int burst = 0; 2 * burst + 1.5 <= seconds; burst++)
        {
            double middle = envelope.Rms[(int)((2 * burst + 1.0) * 50)];
            Assert.InRange(middle, 0.6 * amplitudes[burst] * 1000, 1.5 * amplitudes[burst] * 1000);
            int rest = (int)((2 * burst + 2.4) * 50) - 1; // 0.9 s after the burst, before the next one's edge
            if (rest < envelope.Rms.Length)
            {
                Assert.InRange(envelope.Rms[rest], 0, 20); // the floor; the hum notched out, the notch's ringing gone
            }
        }
    }

    private static string ReservedField(string path)
    {
        using FileStream f = File.OpenRead(path);
        var header = new byte[256];
        f.ReadExactly(header);
        return System.Text.Encoding.ASCII.GetString(header, 192, 44).TrimEnd(' ');
    }
}
