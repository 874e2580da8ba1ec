using System.Numerics;
using EmgBiofeedback.Dsp.Tests.Support;

namespace EmgBiofeedback.Dsp.Tests;

/// <summary>The designs NWaves produces for the chain, against SciPy's own designs of the same parameters.</summary>
public sealed class FilterDesignTests
{
    private const double PassBandToleranceDb = 0.01;

    public static TheoryData<double, double, double, int> BandPassCases => new()
    {
        { 500, 20, 450, 4 },   // upper corner clamped to 225 Hz
        { 1000, 20, 450, 4 },
        { 2000, 20, 450, 4 },
        { 4000, 20, 450, 4 },
        { 1000, 10, 500, 4 },  // clamped to 450 Hz
        { 2000, 10, 500, 2 },
        { 4000, 20, 1000, 6 },
        { 1000, 15, 300, 3 },
    };

    [Theory]
    [MemberData(nameof(BandPassCases))]
    public void Band_pass_response_matches_SciPy_butter_within_a_hundredth_of_a_dB_in_the_pass_band(double fs, double low, double high, int order)
    {
        SignalChainOptions options = BandPassOptions(low, high, order);
        var design = new SignalChainDesign(options, fs, 1, 12, 5000);

        double top = Math.Min(high, 0.45 * fs);
        double[] freqs = Enumerable.Range(0, 400).Select(i => low + ((top - low) * i / 399.0)).ToArray();
        using var scipy = new ScipyReference();
        Dictionary<string, object?> p = ScipyReference.ChainParameters(options, fs, 1, 12, 5000);
        p["kind"] = "band_pass";
        Complex[] reference = scipy.Response(p, freqs);

        for (int i = 0; i < freqs.Length; i++)
        {
            double ours = Db(SignalChainDesign.Response(design.BandPassSections, freqs[i], fs));
            double theirs = Db(reference[i]);
            Assert.True(Math.Abs(ours - theirs) <= PassBandToleranceDb, $"{freqs[i]:F1} Hz at {fs} Hz: {ours:F5} dB vs SciPy {theirs:F5} dB");
        }
        // Corners at -3 dB, as a Butterworth's are.
        Assert.InRange(Db(SignalChainDesign.Response(design.BandPassSections, low, fs)), -3.02, -3.00);
        Assert.InRange(Db(SignalChainDesign.Response(design.BandPassSections, top, fs)), -3.02, -3.00);
    }

    [Theory]
    [MemberData(nameof(BandPassCases))]
    public void The_band_pass_runs_with_the_designed_response_and_at_most_four_times_its_round_off(double fs, double low, double high, int order)
    {
        var design = new SignalChainDesign(BandPassOptions(low, high, order), fs, 1, 12, 5000);
        NormalizedCascade run = design.BandPassCascade;

        Assert.Equal(order, run.Count);
        Assert.True(NormalizedCascade.RoundOffGain(run) <= NormalizedCascade.MaxRoundOffGainRatio * NormalizedCascade.RoundOffGain(NormalizedCascade.From(design.BandPassSections)));
        for (double f = 0.5; f < fs / 2; f += fs / 997)
        {
            Complex z1 = Complex.FromPolarCoordinates(1, -2 * Math.PI * f / fs);
            Complex ran = run.Gain;
            for (int k = 0; k < run.Count; k++)
            {
                Complex numerator = 1 + (run.C[k] * z1) + (run.B2[k] * z1 * z1);
                Complex denominator = 1 - (run.NegA1[k] * z1) - (run.NegA2[k] * z1 * z1);
                ran *= numerator / denominator;
            }
            Complex designed = SignalChainDesign.Response(design.BandPassSections, f, fs);
            // The two products round differently near the zeros (about 1e-14 of the gain there): same function.
            Assert.True((ran - designed).Magnitude <= 1e-10 * Math.Max(1e-3, designed.Magnitude), $"{f:F1} Hz: {ran} vs {designed}");
        }
    }

    [Theory]
    [InlineData(1000, 20, 4, true)]  // the defaults: re-paired as [1, 0, -1], round-off gain 0.93x
    [InlineData(500, 20, 4, true)]
    [InlineData(1000, 20, 3, true)]
    [InlineData(1000, 10, 4, false)] // re-paired it would have 187x the round-off gain
    [InlineData(1000, 1, 8, false)]
    [InlineData(2000, 20, 4, false)]
    public void The_zeros_are_re_paired_as_1_0_minus_1_only_where_that_costs_little_accuracy(double fs, double low, int order, bool repaired)
    {
        NumeratorForm expected = repaired ? NumeratorForm.BandPass : NumeratorForm.Symmetric;
        var design = new SignalChainDesign(new SignalChainOptions { BandPass = { LowHz = low, Order = order } }, fs, 1, 12, 5000);

        Assert.Equal(expected, design.BandPassCascade.Form);
        NormalizedCascade designed = NormalizedCascade.From(design.BandPassSections);
        double ratio = NormalizedCascade.RoundOffGain(design.BandPassCascade) / NormalizedCascade.RoundOffGain(designed);
        Assert.True(expected == NumeratorForm.BandPass ? ratio <= NormalizedCascade.MaxRoundOffGainRatio : ratio == 1.0, $"ratio {ratio}");
    }

    [Fact]
    public void Cascades_whose_zeros_are_not_at_plus_and_minus_one_run_as_designed()
    {
        var design = new SignalChainDesign(new SignalChainOptions { MainsNotch = { Design = MainsNotchDesign.PerHarmonic } }, 1000, 1, 12, 5000);

        NormalizedCascade notches = NormalizedCascade.ForBandPass(design.NotchSections);
        Assert.Equal(NumeratorForm.Symmetric, notches.Form);
        Assert.Equal(design.NotchSections[0].B1 / design.NotchSections[0].B0, notches.C[0]);

        // Two zeros at z = 1 and none at z = -1 (a high-pass pair) cannot be re-paired.
        BiquadSection highPass = design.BandPassSections[1] with { B0 = 1, B1 = -2, B2 = 1 };
        Assert.Equal(NumeratorForm.Symmetric, NormalizedCascade.ForBandPass([highPass, highPass]).Form);
    }

    [Theory]
    [InlineData(1000, 6, 2)]
    [InlineData(1000, 3, 3)]
    [InlineData(4000, 10, 4)]
    public void Linear_envelope_low_pass_matches_SciPy_butter(double fs, double cutoff, int order)
    {
        var options = new SignalChainOptions();
        options.LinearEnvelope.Enabled = true;
        options.LinearEnvelope.CutoffHz = cutoff;
        options.LinearEnvelope.Order = order;
        var design = new SignalChainDesign(options, fs, 1, 12, 5000);

        double[] freqs = Enumerable.Range(0, 200).Select(i => cutoff * i / 199.0).ToArray();
        using var scipy = new ScipyReference();
        Dictionary<string, object?> p = ScipyReference.ChainParameters(options, fs, 1, 12, 5000);
        p["kind"] = "linear_envelope";
        Complex[] reference = scipy.Response(p, freqs);
        for (int i = 0; i < freqs.Length; i++)
        {
            double ours = Db(SignalChainDesign.Response(design.LinearEnvelopeSections, freqs[i], fs));
            Assert.True(Math.Abs(ours - Db(reference[i])) <= PassBandToleranceDb, $"{freqs[i]:F2} Hz: {ours:F5} dB vs SciPy {Db(reference[i]):F5} dB");
        }
    }

    [Theory]
    [InlineData(1000, 50, 9, MainsNotchDesign.Comb, true)]
    [InlineData(1000, 50, 9, MainsNotchDesign.PerHarmonic, false)]
    [InlineData(1000, 60, 8, MainsNotchDesign.Comb, false)] // 1000 / 60 is not whole: per-harmonic sections
    [InlineData(500, 50, 4, MainsNotchDesign.Comb, true)]
    [InlineData(2000, 60, 16, MainsNotchDesign.Comb, false)]
    [InlineData(1200, 60, 9, MainsNotchDesign.Comb, true)]
    public void Notches_are_SciPy_iircomb_or_iirnotch_at_every_harmonic_below_Nyquist(double fs, double mains, int expectedNotches, MainsNotchDesign kind, bool comb)
    {
        var options = new SignalChainOptions();
        options.MainsNotch.FrequencyHz = mains;
        options.MainsNotch.Design = kind;
        var design = new SignalChainDesign(options, fs, 1, 12, 5000);

        Assert.Equal(comb, design.NotchComb is not null);
        Assert.Equal(comb ? 0 : expectedNotches, design.NotchSections.Count);
        Assert.Equal(Enumerable.Range(1, expectedNotches).Select(k => k * mains), design.NotchFrequenciesHz);

        double[] freqs = Enumerable.Range(0, 500).Select(i => (i + 0.5) * fs / 1000.0).ToArray();
        using var scipy = new ScipyReference();
        Dictionary<string, object?> p = ScipyReference.ChainParameters(options, fs, 1, 12, 5000);
        p["kind"] = "notch";
        Complex[] reference = scipy.Response(p, freqs);
        for (int i = 0; i < freqs.Length; i++)
        {
            Complex ours = design.NotchResponse(freqs[i]);
            Assert.True((ours - reference[i]).Magnitude <= 1e-9, $"{freqs[i]:F1} Hz: {ours} vs SciPy {reference[i]}");
        }
        foreach (double f in design.NotchFrequenciesHz)
        {
            Assert.True(design.NotchResponse(f).Magnitude < 1e-6, $"no null at {f} Hz");
            // Every null as narrow as the fundamental's: -3 dB at f +- f0 / (2 Q), within 2 %.
            double halfWidth = mains / options.MainsNotch.QualityFactor / 2;
            Assert.InRange(design.NotchResponse(f + halfWidth).Magnitude, 0.69, 0.72);
            Assert.InRange(design.NotchResponse(f - halfWidth).Magnitude, 0.69, 0.72);
        }
        if (comb)
        {
            // The comb also nulls DC, where the band-pass has already removed everything; the EMG band between the
            // nulls passes (gain > 0.99 at least 10 Hz from every null).
            Assert.True(design.NotchResponse(0).Magnitude < 1e-9);
            for (double f = 20; f < fs / 2; f += 0.5)
            {
                double fromNull = Math.Abs(f - (Math.Round(f / mains) * mains));
                if (fromNull >= 10)
                {
                    Assert.True(design.NotchResponse(f).Magnitude > 0.99, $"{f} Hz");
                }
            }
        }
    }

    [Fact]
    public void Band_pass_sections_run_with_the_gain_first_and_the_poles_nearest_the_unit_circle_last()
    {
        var design = new SignalChainDesign(new SignalChainOptions(), 1000, 1, 12, 5000);
        IReadOnlyList<BiquadSection> s = design.BandPassSections;

        Assert.Equal(4, s.Count);
        Assert.True(Math.Abs(s[0].B0) < 1, "the overall gain (< 1) sits in the first section");
        for (int k = 1; k < s.Count; k++)
        {
            Assert.Equal(1.0, s[k].B0);
            Assert.True(s[k].MaxPoleRadius >= s[k - 1].MaxPoleRadius, "sections ordered by pole radius, as SciPy's zpk2sos");
        }
    }

    [Fact]
    public void Section_order_and_gain_placement_keep_float_state_far_from_overflow_and_round_off()
    {
        // The kernels run in double, where scaling cannot lose precision; this checks the arrangement would also be
        // sound in float: no section's output gain exceeds 4x (12 dB) at any frequency, so no intermediate signal
        // dwarfs the output it feeds.
        var design = new SignalChainDesign(new SignalChainOptions(), 1000, 1, 12, 5000);
        var running = new List<BiquadSection>();
        var perHarmonic = new SignalChainDesign(new SignalChainOptions { MainsNotch = { Design = MainsNotchDesign.PerHarmonic } }, 1000, 1, 12, 5000);
        foreach (BiquadSection section in perHarmonic.BandPassSections.Concat(perHarmonic.NotchSections))
        {
            running.Add(section);
            for (double f = 1; f < 500; f += 1)
            {
                Assert.True(SignalChainDesign.Response(running, f, 1000).Magnitude < 4, $"after {running.Count} sections, gain at {f} Hz");
            }
        }
        // The comb's gain never exceeds 1 (|1 - z^-N| / |1 - a z^-N| <= 2 / (1 + a)); its b0 keeps it at most 1.
        Assert.NotNull(design.NotchComb);
        for (double f = 1; f < 500; f += 0.25)
        {
            Assert.True((SignalChainDesign.Response(design.BandPassSections, f, 1000) * design.NotchResponse(f)).Magnitude < 4, $"band-pass + comb, gain at {f} Hz");
            Assert.True(design.NotchResponse(f).Magnitude <= 1 + 1e-12, $"comb gain at {f} Hz");
        }
    }

    [Fact]
    public void Upper_corner_above_ninety_percent_of_Nyquist_is_clamped_with_a_warning()
    {
        var chain = new SignalChain(new SignalChainOptions(), 500, 1, 10, 5000);

        Assert.Equal(225, chain.Design.BandPassHighHz);
        Assert.Contains(chain.Warnings, w => w.Contains("Dsp:BandPass:HighHz", StringComparison.Ordinal) && w.Contains("225", StringComparison.Ordinal));
        Assert.Empty(new SignalChain(new SignalChainOptions(), 1000, 1, 10, 5000).Warnings);
    }

    [Fact]
    public void An_output_rate_that_does_not_divide_the_sample_rate_uses_the_nearest_whole_decimation_and_says_so()
    {
        var chain = new SignalChain(new SignalChainOptions { OutputRateHz = 60 }, 1000, 1, 10, 5000);

        Assert.Equal(17, chain.Design.DecimationFactor);
        Assert.Equal(1000.0 / 17, chain.Design.OutputRateHz, 12);
        Assert.Contains(chain.Warnings, w => w.Contains("Dsp:OutputRateHz", StringComparison.Ordinal) && w.Contains("every 17th", StringComparison.Ordinal));
    }

    [Fact]
    public void Counts_convert_to_microvolts_at_the_electrodes()
    {
        // MyoWare 2.0 RAW (gain 200) on a 5 V, 10-bit Uno: one count = 5000 mV / 1024 / 200 = 24.414 µV.
        var design = new SignalChainDesign(new SignalChainOptions(), 1000, 2, 10, 5000);

        Assert.Equal(5000.0 * 1000 / 1024 / 200, design.MicrovoltsPerCount[0], 12);
        Assert.Equal(512, design.AdcOffsetCounts[1]);
    }

    private static SignalChainOptions BandPassOptions(double low, double high, int order) =>
        new() { BandPass = { LowHz = low, HighHz = high, Order = order } };

    private static double Db(Complex h) => 20 * Math.Log10(h.Magnitude);
}
