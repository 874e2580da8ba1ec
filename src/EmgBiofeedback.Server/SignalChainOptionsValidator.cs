using EmgBiofeedback.Dsp;
using Microsoft.Extensions.Options;

namespace EmgBiofeedback.Server;

/// <summary>Runs the signal chain's own checks (each message names its setting) when the host starts.</summary>
internal sealed class SignalChainOptionsValidator : IValidateOptions<SignalChainOptions>
{
    public ValidateOptionsResult Validate(string? name, SignalChainOptions options)
    {
        IReadOnlyList<string> errors = options.Validate();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
