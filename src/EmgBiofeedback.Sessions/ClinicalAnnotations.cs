using System.Globalization;
using System.Text.RegularExpressions;

namespace EmgBiofeedback.Sessions;

/// <summary>What a clinical annotation says; <see cref="ClinicalAnnotation.Parse"/> reads it back.</summary>
public enum ClinicalAnnotationKind
{
    /// <summary>A marker as the clinician typed it (e.g. "sensory trick"), an instant.</summary>
    Marker,

    /// <summary>"calibration rest": the rest-baseline window used (duration).</summary>
    CalibrationRest,

    /// <summary>"calibration mvc &lt;label&gt;": one maximal contraction's window (duration).</summary>
    CalibrationMvc,

    /// <summary>
    /// "calibration mvc &lt;label&gt; done" / "... abort" (instant): the guided step's end; its contractions are judged
    /// together (done) or discarded (abort). Without it (a file made elsewhere), the next other annotation ends the step.
    /// </summary>
    CalibrationMvcEnd,

    /// <summary>"calibration reused &lt;label&gt; rest &lt;µV&gt; mvc &lt;µV&gt; from &lt;date&gt;": a stored calibration applied (instant).</summary>
    CalibrationReused,

    /// <summary>"target &lt;label&gt; below|above &lt;pct&gt; ..." or "target &lt;label&gt; off" (instant).</summary>
    Target,

    /// <summary>"baseline pre" / "baseline post" (duration).</summary>
    Baseline,

    /// <summary>"trial &lt;n&gt; work" / "trial &lt;n&gt; rest" (duration).</summary>
    Trial,

    /// <summary>"protocol &lt;name&gt; start|pause|resume|abort|end" (instant): the run's own log, not a marker.</summary>
    Protocol,

    /// <summary>"outcome &lt;score&gt; &lt;value&gt;": a clinical score entered with the session (TWSTRS total, Tsui, days since botulinum toxin).</summary>
    Outcome,
}

/// <summary>
/// One clinician action as the recording keeps it: a BDF+ annotation with its onset and duration in sample instants
/// from the recording's first sample. The vocabulary (docs/recordings.md) is the only way clinical actions enter or
/// leave a recording: the live layer writes these texts, the offline summary reads them, so a session can be analysed
/// again from its file alone.
/// </summary>
public sealed partial record ClinicalAnnotation(ClinicalAnnotationKind Kind, long Position, long Duration, string Text)
{
    /// <summary>The montage label the annotation is about (calibration mvc, reused, target); empty otherwise.</summary>
    public string Label { get; init; } = "";

    /// <summary>Trial number (trials), 0 otherwise.</summary>
    public int Trial { get; init; }

    /// <summary>Work (true) or rest (false) of a trial; pre (true) or post (false) of a baseline.</summary>
    public bool Flag { get; init; }

    /// <summary>A target's definition (Target; null for "off").</summary>
    public TargetSpec? Target { get; init; }

    /// <summary>A reused calibration's values (CalibrationReused).</summary>
    public MuscleCalibration? Calibration { get; init; }

    public const string CalibrationRestText = "calibration rest";
    public const string BaselinePreText = "baseline pre";
    public const string BaselinePostText = "baseline post";

    public static string CalibrationMvcText(string label) => $"calibration mvc {label}";

    public static string CalibrationMvcEndText(string label, bool done) => $"calibration mvc {label} {(done ? "done" : "abort")}";

    public static string TrialText(int n, bool work) => $"trial {n} {(work ? "work" : "rest")}";

    public static string BaselineText(bool pre) => pre ? BaselinePreText : BaselinePostText;

    /// <summary>
    /// "target SCM L below 20", with " release R" when the release level is not the default, " dwell S" when the dwell
    /// is not the default, and " while SCM R above P" for the accessory-muscle guard. "target SCM L off" clears it.
    /// </summary>
    public static string TargetText(string label, TargetSpec? target)
    {
        if (target is null)
        {
            return $"target {label} off";
        }
        string text = $"target {label} {(target.Direction == TargetDirection.Below ? "below" : "above")} {Number(target.Level)}";
        if (target.Release != TargetSpec.DefaultRelease(target.Level))
        {
            text += $" release {Number(target.Release)}";
        }
        if (target.DwellSeconds != TargetSpec.DefaultDwellSeconds)
        {
            text += $" dwell {Number(target.DwellSeconds)}";
        }
        if (target.Partner is { } partner)
        {
            text += $" while {partner} above {Number(target.PartnerLevel)}";
        }
        return text;
    }

    public static string ReusedText(string label, MuscleCalibration c) =>
        $"calibration reused {label} rest {Number(c.RestMicrovolts)} mvc {Number(c.MvcMicrovolts)} from {c.CalibratedAt.ToUniversalTime():yyyy-MM-ddTHH:mm:ssZ}";

    public static string ProtocolText(string name, string what) => $"protocol {name} {what}";

    public static string OutcomeText(string score, double value) => $"outcome {score} {Number(value)}";

    /// <summary>The outcome scores a session can carry (their names in annotations and in the summary).</summary>
    public static IReadOnlyList<string> OutcomeScores { get; } = ["twstrs_total", "tsui", "days_since_botulinum_toxin"];

    /// <summary>The score's value (Outcome).</summary>
    public double Value { get; init; }

    /// <summary>Shortest text that reads back to the same double.</summary>
    public static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>
    /// Reads an annotation: a clinical one by its vocabulary, anything else as a marker. Returns null for the
    /// station's own notes (<paramref name="isStationNote"/>: session start and stop, gaps, source, device events).
    /// </summary>
    public static ClinicalAnnotation? Parse(string text, long position, long duration, Func<string, bool>? isStationNote = null)
    {
        string t = text.Trim();
        if (t.Length == 0 || (isStationNote?.Invoke(t) ?? false))
        {
            return null;
        }
        if (t == CalibrationRestText)
        {
            return new(ClinicalAnnotationKind.CalibrationRest, position, duration, t);
        }
        if (t == BaselinePreText || t == BaselinePostText)
        {
            return new(ClinicalAnnotationKind.Baseline, position, duration, t) { Flag = t == BaselinePreText };
        }
        Match m = TrialPattern().Match(t);
        if (m.Success)
        {
            return new(ClinicalAnnotationKind.Trial, position, duration, t) { Trial = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), Flag = m.Groups[2].Value == "work" };
        }
        m = MvcEndPattern().Match(t);
        if (m.Success)
        {
            return new(ClinicalAnnotationKind.CalibrationMvcEnd, position, duration, t) { Label = m.Groups[1].Value, Flag = m.Groups[2].Value == "done" };
        }
        m = MvcPattern().Match(t);
        if (m.Success)
        {
            return new(ClinicalAnnotationKind.CalibrationMvc, position, duration, t) { Label = m.Groups[1].Value };
        }
        m = ReusedPattern().Match(t);
        if (m.Success && TryNumber(m.Groups[2].Value, out double rest) && TryNumber(m.Groups[3].Value, out double mvc)
            && DateTimeOffset.TryParse(m.Groups[4].Value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out DateTimeOffset at))
        {
            return new(ClinicalAnnotationKind.CalibrationReused, position, duration, t)
            {
                Label = m.Groups[1].Value,
                Calibration = new MuscleCalibration(rest, mvc, MuscleCalibration.ReusedMethod, at),
            };
        }
        m = TargetOffPattern().Match(t);
        if (m.Success)
        {
            return new(ClinicalAnnotationKind.Target, position, duration, t) { Label = m.Groups[1].Value };
        }
        m = TargetPattern().Match(t);
        if (m.Success && TryNumber(m.Groups[3].Value, out double level))
        {
            var direction = m.Groups[2].Value == "below" ? TargetDirection.Below : TargetDirection.Above;
            double release = m.Groups[4].Success && TryNumber(m.Groups[4].Value, out double r) ? r : TargetSpec.DefaultRelease(level);
            double dwell = m.Groups[5].Success && TryNumber(m.Groups[5].Value, out double d) ? d : TargetSpec.DefaultDwellSeconds;
            string? partner = m.Groups[6].Success ? m.Groups[6].Value : null;
            double partnerLevel = m.Groups[7].Success && TryNumber(m.Groups[7].Value, out double p) ? p : 0;
            return new(ClinicalAnnotationKind.Target, position, duration, t)
            {
                Label = m.Groups[1].Value,
                Target = new TargetSpec(direction, level, release, dwell, partner, partnerLevel),
            };
        }
        m = OutcomePattern().Match(t);
        if (m.Success && OutcomeScores.Contains(m.Groups[1].Value) && TryNumber(m.Groups[2].Value, out double score))
        {
            return new(ClinicalAnnotationKind.Outcome, position, duration, t) { Label = m.Groups[1].Value, Value = score };
        }
        if (t.StartsWith("protocol ", StringComparison.Ordinal))
        {
            return new(ClinicalAnnotationKind.Protocol, position, duration, t);
        }
        return new(ClinicalAnnotationKind.Marker, position, duration, t) { Label = t };
    }

    private static bool TryNumber(string s, out double value) =>
        double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);

    private const string LabelGroup = @"([A-Za-z0-9]{1,10}(?: [LR])?)";
    private const string NumberGroup = @"([-+0-9.eE]+)";

    [GeneratedRegex(@"^outcome ([a-z_]{1,40}) " + NumberGroup + @"\z")]
    private static partial Regex OutcomePattern();

    [GeneratedRegex(@"^trial ([0-9]{1,5}) (work|rest)\z")]
    private static partial Regex TrialPattern();

    [GeneratedRegex(@"^calibration mvc " + LabelGroup + @"\z")]
    private static partial Regex MvcPattern();

    [GeneratedRegex(@"^calibration mvc " + LabelGroup + @" (done|abort)\z")]
    private static partial Regex MvcEndPattern();

    [GeneratedRegex(@"^calibration reused " + LabelGroup + " rest " + NumberGroup + " mvc " + NumberGroup + @" from (\S+)\z")]
    private static partial Regex ReusedPattern();

    [GeneratedRegex(@"^target " + LabelGroup + @" off\z")]
    private static partial Regex TargetOffPattern();

    [GeneratedRegex(@"^target " + LabelGroup + " (below|above) " + NumberGroup + "(?: release " + NumberGroup + ")?(?: dwell " + NumberGroup + ")?(?: while " + LabelGroup + " above " + NumberGroup + @")?\z")]
    private static partial Regex TargetPattern();
}
