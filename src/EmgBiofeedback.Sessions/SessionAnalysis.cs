namespace EmgBiofeedback.Sessions;

/// <summary>One muscle over one period: %MVC mean and peak over the valid frames, share of them inside the target.</summary>
/// <param name="MeanPctMvc">Null when the muscle is not calibrated or the period has no valid frame.</param>
/// <param name="TimeInTarget">Share (0-1) of the period's valid frames whose target state was satisfied; null without a target.</param>
/// <param name="MeanMicrovolts">The envelope's mean, µV (for reference; never compared across sides).</param>
public sealed record PeriodStats(double? MeanPctMvc, double? PeakPctMvc, double? TimeInTarget, double? MeanMicrovolts, int ValidFrames);

/// <summary>Work and rest of one trial (or, with N = 0, every trial pooled), with the indices between muscles.</summary>
public sealed record TrialSummary(
    int N,
    IReadOnlyDictionary<string, PeriodStats> Work,
    IReadOnlyDictionary<string, PeriodStats> Rest,
    IReadOnlyDictionary<string, double?> Asymmetry,
    IReadOnlyDictionary<string, double?> CoContraction);

/// <summary>A marker's effect on one muscle: mean %MVC in the window after it vs the window before, change = after / before − 1.</summary>
public sealed record MarkerEffect(double? BeforePctMvc, double? AfterPctMvc, double? Change);

public sealed record MarkerSummary(string Label, double TimeSeconds, IReadOnlyDictionary<string, MarkerEffect> Effect);

/// <summary>Who and what the session was: from the host live, from the recording's header offline.</summary>
public sealed record SessionInfo(string SessionId, string PatientCode, string Station, DateTimeOffset Start, string Source);

/// <summary>
/// A session's summary: calibration, per-trial and overall indices, marker effects, baselines, outcome scores. The
/// same function computes it live (at stop) and offline (from the recording), from the same frames and annotations.
/// </summary>
public sealed record SessionSummary(
    SessionInfo Info,
    double DurationSeconds,
    long Frames,
    IReadOnlyList<MontageEntry> Montage,
    IReadOnlyDictionary<string, MuscleCalibration> Calibration,
    IReadOnlyList<TrialSummary> Trials,
    TrialSummary Overall,
    IReadOnlyList<MarkerSummary> Markers,
    IReadOnlyDictionary<string, PeriodStats> BaselinePre,
    IReadOnlyDictionary<string, PeriodStats> BaselinePost,
    IReadOnlyDictionary<string, double?> BaselineChange,
    IReadOnlyDictionary<string, double> Outcomes,
    IReadOnlyList<string> Targets,
    double MarkerWindowSeconds)
{
    public const string Schema = "emg-session-summary/1";

    /// <summary>The co-contraction formula the summary uses, named in reports (indices from different formulas are not comparable).</summary>
    public const string CoContractionFormula = "Falconer & Winter: 2 x sum(min(a,b)) / (sum(a) + sum(b)) over the work period, on %MVC";

    public const string AsymmetryFormula = "(L - R) / (L + R) on the work-period mean %MVC";
}

/// <summary>The indices of docs/clinical.md, computed from a <see cref="ClinicalSession"/>'s frames and annotations.</summary>
public static class SessionAnalysis
{
    public static SessionSummary Summarize(ClinicalSession session, SessionInfo info)
    {
        FrameStore frames = session.Frames;
        ClinicalSetup setup = session.Setup;
        Montage montage = setup.Montage;
        var entries = montage.Entries.Where(e => e.Channel < setup.ChannelCount).ToArray();
        IReadOnlyList<ClinicalAnnotation> applied = session.Applied;

        var periods = applied.Where(a => a.Kind is ClinicalAnnotationKind.Trial or ClinicalAnnotationKind.Baseline)
            .OrderBy(a => a.Position).ToArray();
        var trialNumbers = periods.Where(p => p.Kind == ClinicalAnnotationKind.Trial).Select(p => p.Trial).Distinct().Order().ToArray();
        var trials = new List<TrialSummary>();
        foreach (int n in trialNumbers)
        {
            var work = periods.Where(p => p.Kind == ClinicalAnnotationKind.Trial && p.Trial == n && p.Flag).ToArray();
            var rest = periods.Where(p => p.Kind == ClinicalAnnotationKind.Trial && p.Trial == n && !p.Flag).ToArray();
            trials.Add(Trial(n, session, entries, montage, work, rest));
        }
        TrialSummary overall = Trial(0, session, entries, montage,
            periods.Where(p => p.Kind == ClinicalAnnotationKind.Trial && p.Flag).ToArray(),
            periods.Where(p => p.Kind == ClinicalAnnotationKind.Trial && !p.Flag).ToArray());

        var pre = Stats(session, entries, periods.Where(p => p.Kind == ClinicalAnnotationKind.Baseline && p.Flag).ToArray());
        var post = Stats(session, entries, periods.Where(p => p.Kind == ClinicalAnnotationKind.Baseline && !p.Flag).ToArray());
        var change = entries.ToDictionary(e => e.Label, e => Change(pre[e.Label].MeanPctMvc, post[e.Label].MeanPctMvc));

        long window = setup.Samples(setup.MarkerWindowSeconds);
        var markers = applied.Where(a => a.Kind == ClinicalAnnotationKind.Marker).OrderBy(a => a.Position).Select(m =>
        {
            var effect = new Dictionary<string, MarkerEffect>();
            foreach (MontageEntry e in entries)
            {
                double? before = Mean(session, e.Channel, [(m.Position - window, window)]);
                double? after = Mean(session, e.Channel, [(m.Position, window)]);
                effect[e.Label] = new MarkerEffect(before, after, Change(before, after));
            }
            return new MarkerSummary(m.Label, m.Position / setup.SampleRateHz, effect);
        }).ToArray();

        var outcomes = new Dictionary<string, double>();
        foreach (ClinicalAnnotation o in applied.Where(a => a.Kind == ClinicalAnnotationKind.Outcome).OrderBy(a => a.Position))
        {
            outcomes[o.Label] = o.Value; // the last entry of a score counts
        }
        var targets = session.TargetHistory.OrderBy(t => t.Position)
            .Select(t => ClinicalAnnotation.TargetText(t.Label, t.Spec)["target ".Length..]).Distinct().ToArray();

        double duration = frames.Count == 0 ? 0 : (frames.SampleIndex(frames.Count - 1) + 1) / setup.SampleRateHz;
        return new SessionSummary(info, duration, frames.Count, entries, session.Calibrations, trials, overall, markers, pre, post, change,
            outcomes, targets, setup.MarkerWindowSeconds);
    }

    private static double? Change(double? before, double? after) =>
        before is > 0 && after is { } a ? a / before.Value - 1 : null;

    private static TrialSummary Trial(int n, ClinicalSession session, MontageEntry[] entries, Montage montage, ClinicalAnnotation[] work, ClinicalAnnotation[] rest)
    {
        var workStats = Stats(session, entries, work);
        var restStats = Stats(session, entries, rest);
        var asymmetry = new Dictionary<string, double?>();
        foreach (MusclePair pair in montage.BilateralPairs.Where(p => entries.Contains(p.A) && entries.Contains(p.B)))
        {
            double? l = workStats[pair.A.Label].MeanPctMvc, r = workStats[pair.B.Label].MeanPctMvc;
            asymmetry[pair.A.Muscle] = l is { } lv && r is { } rv && lv + rv > 0 ? (lv - rv) / (lv + rv) : null;
        }
        var cocontraction = new Dictionary<string, double?>();
        foreach (MusclePair pair in montage.AntagonistPairs.Where(p => entries.Contains(p.A) && entries.Contains(p.B)))
        {
            cocontraction[pair.Key] = CoContraction(session, pair.A.Channel, pair.B.Channel, Windows(work));
        }
        return new TrialSummary(n, workStats, restStats, asymmetry, cocontraction);
    }

    private static (long Start, long Length)[] Windows(ClinicalAnnotation[] periods) => periods.Select(p => (p.Position, p.Duration)).ToArray();

    private static Dictionary<string, PeriodStats> Stats(ClinicalSession session, MontageEntry[] entries, ClinicalAnnotation[] periods)
    {
        var result = new Dictionary<string, PeriodStats>();
        foreach (MontageEntry e in entries)
        {
            result[e.Label] = Stats(session, e.Channel, Windows(periods));
        }
        return result;
    }

    /// <summary>Mean and peak %MVC, time in target and mean µV of a channel over the frames of some windows.</summary>
    public static PeriodStats Stats(ClinicalSession session, int channel, (long Start, long Length)[] windows)
    {
        FrameStore frames = session.Frames;
        ReadOnlySpan<double> pct = frames.Percent(channel), rms = frames.Rms(channel);
        ReadOnlySpan<bool> valid = frames.Valid(channel);
        ReadOnlySpan<TargetState> states = frames.States(channel);
        double sumPct = 0, peak = double.NegativeInfinity, sumUv = 0;
        int nPct = 0, nValid = 0, nTarget = 0, nInside = 0;
        foreach ((long start, long length) in windows)
        {
            (int first, int count) = frames.Range(start, start + length);
            for (int f = first; f < first + count; f++)
            {
                if (!valid[f])
                {
                    continue;
                }
                nValid++;
                sumUv += rms[f];
                if (double.IsFinite(pct[f]))
                {
                    sumPct += pct[f];
                    peak = Math.Max(peak, pct[f]);
                    nPct++;
                }
                TargetSpec? spec = TargetAt(session, channel, frames.SampleIndex(f));
                if (spec is not null && states[f] != TargetState.Unspecified && PartnerWorks(session, spec, f))
                {
                    nTarget++;
                    nInside += states[f] == TargetState.Inside ? 1 : 0;
                }
            }
        }
        return new PeriodStats(
            nPct > 0 ? sumPct / nPct : null,
            nPct > 0 ? peak : null,
            nTarget > 0 ? nInside / (double)nTarget : null,
            nValid > 0 ? sumUv / nValid : null,
            nValid);
    }

    private static TargetSpec? TargetAt(ClinicalSession session, int channel, long sampleIndex)
    {
        string label = session.Labels[channel];
        TargetSpec? spec = null;
        foreach ((long position, string l, TargetSpec? s) in session.TargetHistory)
        {
            if (position > sampleIndex)
            {
                break;
            }
            if (string.Equals(l, label, StringComparison.OrdinalIgnoreCase))
            {
                spec = s;
            }
        }
        return spec;
    }

    /// <summary>A guard target counts only while its partner works; other targets always.</summary>
    private static bool PartnerWorks(ClinicalSession session, TargetSpec spec, int frame)
    {
        if (spec.Partner is null)
        {
            return true;
        }
        int partner = session.Labels.ToList().FindIndex(l => string.Equals(l, spec.Partner, StringComparison.OrdinalIgnoreCase));
        return partner >= 0 && session.Frames.Valid(partner)[frame] && session.Frames.Percent(partner)[frame] >= spec.PartnerLevel;
    }

    private static double? Mean(ClinicalSession session, int channel, (long Start, long Length)[] windows) =>
        Stats(session, channel, windows).MeanPctMvc;

    /// <summary>Falconer and Winter's co-contraction index over the frames where both muscles are valid and calibrated.</summary>
    private static double? CoContraction(ClinicalSession session, int a, int b, (long Start, long Length)[] windows)
    {
        FrameStore frames = session.Frames;
        ReadOnlySpan<double> pa = frames.Percent(a), pb = frames.Percent(b);
        ReadOnlySpan<bool> va = frames.Valid(a), vb = frames.Valid(b);
        double common = 0, total = 0;
        foreach ((long start, long length) in windows)
        {
            (int first, int count) = frames.Range(start, start + length);
            for (int f = first; f < first + count; f++)
            {
                if (va[f] && vb[f] && double.IsFinite(pa[f]) && double.IsFinite(pb[f]))
                {
                    double x = Math.Max(0, pa[f]), y = Math.Max(0, pb[f]);
                    common += Math.Min(x, y);
                    total += x + y;
                }
            }
        }
        return total > 0 ? 2 * common / total : null;
    }
}
