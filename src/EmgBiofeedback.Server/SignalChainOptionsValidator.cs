using EmgBiofeedback.Acquisition;
using EmgBiofeedback.Dsp;
using EmgBiofeedback.Protocol;
using Microsoft.Extensions.Options;

namespace EmgBiofeedback.Server;

/// <summary>
/// Runs the signal chain's own checks (each message names its setting) when the host starts, and then the
/// checks that depend on the board, for the board the configuration names: the simulated board's rate, or a
/// serial board's when Acquisition:Serial:SampleRateHz asks for one. (A serial board that keeps its own
/// rate is checked when it identifies itself; one the chain cannot filter stops the service, exit code 1.)
/// </summary>
internal sealed class SignalChainOptionsValidator(IOptions<AcquisitionOptions> acquisition) : IValidateOptions<SignalChainOptions>
{
    public ValidateOptionsResult Validate(string? name, SignalChainOptions options)
    {
        IReadOnlyList<string> errors = options.Validate();
        if (errors.Count == 0)
        {
            AcquisitionOptions a = acquisition.Value;
            if (!a.UsesSerialPort)
            {
                errors = ForBoard(options, "Acquisition:Simulator:SampleRateHz", a.Simulator.SampleRateHz, a.Simulator.Channels, SimulatedBoard.AdcBits, SimulatedBoard.ReferenceMillivolts);
            }
            else if (a.Serial.SampleRateHz is int rate)
            {
                // The ADC is not known before the board answers: the widest one, so only the rate can fail.
                errors = ForBoard(options, "Acquisition:Serial:SampleRateHz", rate, a.Serial.Channels ?? WireFormat.MaxChannels, 16, SimulatedBoard.ReferenceMillivolts);
            }
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>The chain's board-dependent checks, each prefixed with the setting that chose the board's rate.</summary>
    public static IReadOnlyList<string> ForBoard(SignalChainOptions options, string rateSetting, int rateHz, int channels, int adcBits, int referenceMillivolts) =>
        options.Validate(rateHz, channels, adcBits, referenceMillivolts)
            .Select(e => $"{rateSetting} = {rateHz} Hz does not suit the signal chain: {e}")
            .ToList();
}
