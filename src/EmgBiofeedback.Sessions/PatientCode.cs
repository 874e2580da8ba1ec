using System.Text.RegularExpressions;

namespace EmgBiofeedback.Sessions;

/// <summary>
/// The one rule for a patient's code: 1-32 letters, digits, '-' or '_', a pseudonym, never a name. It names the
/// patient in recordings, history, summaries, reports and the calibration store.
/// </summary>
public static partial class PatientCode
{
    public const string Rule = "1-32 letters, digits, '-' or '_' (a pseudonymous code, never a name)";

    // \z, not $: "$" also matches before a final newline, and "P01\n" would become a second patient.
    public static bool IsValid(string? code) => code is not null && Pattern().IsMatch(code);

    [GeneratedRegex(@"^[A-Za-z0-9_-]{1,32}\z")]
    private static partial Regex Pattern();
}
