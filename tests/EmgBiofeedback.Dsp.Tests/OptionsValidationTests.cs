namespace EmgBiofeedback.Dsp.Tests;

/// <summary>Wrong settings stop start-up with the setting's name.</summary>
public sealed class OptionsValidationTests
{
    [Fact]
    public void Defaults_are_valid_for_an_Uno_and_for_the_recordings()
    {
        var options = new SignalChainOptions();

        Assert.Empty(options.Validate());
        Assert.Empty(options.Validate(1000, 6, 10, 5000));
        Assert.Empty(options.Validate(1000, 1, 12, 3300));
    }

    public static TheoryData<string, Action<SignalChainOptions>> InvalidSettings => new()
    {
        { "Dsp:SensorGain", o => o.SensorGain = 0 },
        { "Dsp:AdcOffsetCounts", o => o.AdcOffsetCounts = double.NaN },
        { "Dsp:Channels:1:SensorGain", o => { o.Channels.Add(new ChannelOptions()); o.Channels.Add(new ChannelOptions { SensorGain = -5 }); } },
        { "Dsp:BandPass:LowHz", o => o.BandPass.LowHz = 0 },
        { "Dsp:BandPass:LowHz", o => o.BandPass.LowHz = 150 },
        { "Dsp:BandPass:HighHz", o => o.BandPass.HighHz = 15 },
        { "Dsp:BandPass:Order", o => o.BandPass.Order = 0 },
        { "Dsp:BandPass:Order", o => o.BandPass.Order = 9 },
        { "Dsp:MainsNotch:FrequencyHz", o => o.MainsNotch.FrequencyHz = 55 },
        { "Dsp:MainsNotch:QualityFactor", o => o.MainsNotch.QualityFactor = 1 },
        { "Dsp:MainsNotch:Harmonics", o => o.MainsNotch.Harmonics = 0 },
        { "Dsp:RmsEnvelope:WindowMs", o => o.RmsEnvelope.WindowMs = 40 },
        { "Dsp:RmsEnvelope:WindowMs", o => o.RmsEnvelope.WindowMs = 300 },
        { "Dsp:LinearEnvelope:CutoffHz", o => o.LinearEnvelope.CutoffHz = 0 },
        { "Dsp:LinearEnvelope:Order", o => o.LinearEnvelope.Order = 12 },
        { "Dsp:OutputRateHz", o => o.OutputRateHz = -50 },
        { "Dsp:Quality:MainsRatioThreshold", o => o.Quality.MainsRatioThreshold = 2 },
        { "Dsp:Quality:NoisyBaselineMicrovolts", o => o.Quality.NoisyBaselineMicrovolts = 0 },
        { "Dsp:Quality:BaselineWindowSeconds", o => o.Quality.BaselineWindowSeconds = 0.5 },
        { "Dsp:Quality:FlatlineMaxCounts", o => o.Quality.FlatlineMaxCounts = -1 },
    };

    [Theory]
    [MemberData(nameof(InvalidSettings))]
    public void Each_invalid_setting_is_reported_by_its_configuration_path(string setting, Action<SignalChainOptions> spoil)
    {
        var options = new SignalChainOptions();
        spoil(options);

        IReadOnlyList<string> errors = options.Validate();

        string error = Assert.Single(errors);
        Assert.StartsWith(setting + " ", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Board_dependent_settings_are_checked_against_the_board()
    {
        var options = new SignalChainOptions { OutputRateHz = 2000, AdcOffsetCounts = 2000 };
        options.Channels.Add(new ChannelOptions());
        options.Channels.Add(new ChannelOptions());
        options.LinearEnvelope.Enabled = true;
        options.LinearEnvelope.CutoffHz = 50;
        options.BandPass.LowHz = 60;

        IReadOnlyList<string> errors = options.Validate(100, 1, 10, 5000);

        Assert.Contains(errors, e => e.StartsWith("Dsp:Channels ", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Dsp:AdcOffsetCounts ", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Dsp:BandPass:LowHz ", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Dsp:MainsNotch:FrequencyHz ", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Dsp:LinearEnvelope:CutoffHz ", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Dsp:OutputRateHz ", StringComparison.Ordinal));
    }

    [Fact]
    public void Building_a_chain_with_invalid_settings_throws_naming_every_setting()
    {
        var options = new SignalChainOptions { SensorGain = -1, RmsEnvelope = { WindowMs = 10 } };

        ArgumentException error = Assert.Throws<ArgumentException>(() => new SignalChain(options, 1000, 4, 10, 5000));

        Assert.Contains("Dsp:SensorGain", error.Message, StringComparison.Ordinal);
        Assert.Contains("Dsp:RmsEnvelope:WindowMs", error.Message, StringComparison.Ordinal);
    }
}
