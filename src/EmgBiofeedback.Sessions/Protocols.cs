using System.Text.RegularExpressions;

namespace EmgBiofeedback.Sessions;

/// <summary>
/// A work/rest protocol: a rest baseline before, <see cref="Trials"/> trials of work then rest, a rest baseline after
/// (MyoTrac's scripts: 60 s pre-baseline, 10 × (10 s work, 10 s rest), 60 s post-baseline). Seconds on sample time.
/// </summary>
public sealed partial record ProtocolTemplate(
    string Name,
    double PreBaselineSeconds,
    int Trials,
    double WorkSeconds,
    double RestSeconds,
    double PostBaselineSeconds,
    string WorkInstruction = "Work: contract as trained",
    string RestInstruction = "Rest: let the muscles go",
    string BaselineInstruction = "Sit still and relax; look straight ahead")
{
    /// <summary>The built-in template: 60 s pre, 10 × (10 s work, 10 s rest), 60 s post.</summary>
    public static ProtocolTemplate Default { get; } = new("cd-10x10", 60, 10, 10, 10, 60);

    /// <summary>A short one for demonstrations and tests: 10 s pre, 3 × (10 s, 10 s), 10 s post.</summary>
    public static ProtocolTemplate Short { get; } = new("cd-3x10", 10, 3, 10, 10, 10);

    public static IReadOnlyList<ProtocolTemplate> BuiltIn { get; } = [Default, Short];

    /// <summary>Checks the template; a <see cref="SessionRuleException"/> names the field.</summary>
    public void Validate()
    {
        if (!NamePattern().IsMatch(Name ?? ""))
        {
            throw new SessionRuleException("name", "name must be 1-32 letters, digits, '-', '_' or '.'.");
        }
        Check("pre_baseline_seconds", PreBaselineSeconds, 0, 600);
        Check("post_baseline_seconds", PostBaselineSeconds, 0, 600);
        Check("work_seconds", WorkSeconds, 1, 600);
        Check("rest_seconds", RestSeconds, 1, 600);
        if (Trials is < 1 or > 100)
        {
            throw new SessionRuleException("trials", $"trials {Trials} must be 1-100.");
        }
        foreach ((string field, string text) in new[] { ("work_instruction", WorkInstruction), ("rest_instruction", RestInstruction), ("baseline_instruction", BaselineInstruction) })
        {
            if (text is null || text.Length > 120 || text.Any(char.IsControl))
            {
                throw new SessionRuleException(field, $"{field} must be at most 120 printable characters.");
            }
        }
    }

    private static void Check(string field, double value, double min, double max)
    {
        if (!double.IsFinite(value) || value < min || value > max)
        {
            throw new SessionRuleException(field, $"{field} {value} must be {min}-{max} s.");
        }
    }

    /// <summary>The phases in order, each with its length in samples at <paramref name="sampleRateHz"/>.</summary>
    public IReadOnlyList<ProtocolPhase> Phases(double sampleRateHz)
    {
        var phases = new List<ProtocolPhase>();
        long Samples(double seconds) => (long)Math.Round(seconds * sampleRateHz);
        if (PreBaselineSeconds > 0)
        {
            phases.Add(new ProtocolPhase(PhaseKind.BaselinePre, 0, Samples(PreBaselineSeconds), BaselineInstruction));
        }
        for (int n = 1; n <= Trials; n++)
        {
            phases.Add(new ProtocolPhase(PhaseKind.Work, n, Samples(WorkSeconds), WorkInstruction));
            phases.Add(new ProtocolPhase(PhaseKind.Rest, n, Samples(RestSeconds), RestInstruction));
        }
        if (PostBaselineSeconds > 0)
        {
            phases.Add(new ProtocolPhase(PhaseKind.BaselinePost, 0, Samples(PostBaselineSeconds), BaselineInstruction));
        }
        return phases;
    }

    [GeneratedRegex(@"^[A-Za-z0-9._-]{1,32}\z")]
    private static partial Regex NamePattern();
}

public enum PhaseKind
{
    None,
    BaselinePre,
    Work,
    Rest,
    BaselinePost,
    Done,
}

/// <summary>One phase of a protocol: its kind, its trial (0 for baselines), its length in samples, what the patient is told.</summary>
public sealed record ProtocolPhase(PhaseKind Kind, int Trial, long Samples, string Instruction)
{
    /// <summary>The annotation text of the phase ("baseline pre", "trial 3 work", ...).</summary>
    public string AnnotationText => Kind switch
    {
        PhaseKind.BaselinePre => ClinicalAnnotation.BaselinePreText,
        PhaseKind.BaselinePost => ClinicalAnnotation.BaselinePostText,
        PhaseKind.Work => ClinicalAnnotation.TrialText(Trial, true),
        PhaseKind.Rest => ClinicalAnnotation.TrialText(Trial, false),
        _ => "",
    };
}
