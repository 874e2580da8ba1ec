namespace EmgBiofeedback.Sessions;

/// <summary>Where a muscle's activation stands against its target zone.</summary>
public enum TargetState
{
    /// <summary>No target set for this muscle (or it is not calibrated).</summary>
    Unspecified,
    Below,
    Inside,
    Above,
}

/// <summary>Down-training (stay below) or up-training (reach above).</summary>
public enum TargetDirection
{
    Below,
    Above,
}

/// <summary>
/// A muscle's target in %MVC. <see cref="Level"/> is where the state trips (for "below": reaching it leaves the zone;
/// for "above": reaching it enters the zone); <see cref="Release"/> (lower) is where it trips back, so a signal hovering
/// at the level does not flicker (hysteresis); and a change is reported only once the new state has held for
/// <see cref="DwellSeconds"/>. With <see cref="Partner"/>, a "below" target guards an accessory muscle: its time in
/// target counts only while the partner works (at or above <see cref="PartnerLevel"/> %MVC).
/// </summary>
public sealed record TargetSpec(TargetDirection Direction, double Level, double Release, double DwellSeconds = TargetSpec.DefaultDwellSeconds,
    string? Partner = null, double PartnerLevel = 0)
{
    /// <summary>Default dwell: 0.2 s, the shortest hold-time class of commercial EMG trainers.</summary>
    public const double DefaultDwellSeconds = 0.2;

    /// <summary>Default release: 10 % of the level below it, at least 1 %MVC below, never under 0.</summary>
    public static double DefaultRelease(double level) => Math.Max(0, level - Math.Max(1, level * 0.1));

    public static TargetSpec Below(double level) => new(TargetDirection.Below, level, DefaultRelease(level));

    public static TargetSpec Above(double level) => new(TargetDirection.Above, level, DefaultRelease(level));

    /// <summary>Checks the numbers; a <see cref="SessionRuleException"/> names the field.</summary>
    public void Validate()
    {
        if (!double.IsFinite(Level) || Level <= 0 || Level > 200)
        {
            throw new SessionRuleException("level_pct", $"level_pct {Level} must be above 0 and at most 200 %MVC.");
        }
        if (!double.IsFinite(Release) || Release < 0 || Release >= Level)
        {
            throw new SessionRuleException("release_pct", $"release_pct {Release} must be at least 0 and below the level ({Level} %MVC).");
        }
        if (!double.IsFinite(DwellSeconds) || DwellSeconds < 0 || DwellSeconds > 10)
        {
            throw new SessionRuleException("dwell_seconds", $"dwell_seconds {DwellSeconds} must be 0-10 s.");
        }
        if (Partner is not null && Direction != TargetDirection.Below)
        {
            throw new SessionRuleException("partner", "partner: only a \"below\" target can guard a muscle while another works.");
        }
        if (Partner is not null && (!double.IsFinite(PartnerLevel) || PartnerLevel <= 0 || PartnerLevel > 200))
        {
            throw new SessionRuleException("partner_level_pct", $"partner_level_pct {PartnerLevel} must be above 0 and at most 200 %MVC.");
        }
    }
}

/// <summary>
/// The target state of one muscle, frame by frame: a Schmitt trigger between the level and the release level gives
/// the raw state; the reported state follows it only after the raw state has been the same for
/// <c>dwellFrames</c> consecutive valid frames. Invalid frames (filters settling, a gap) and frames without %MVC hold
/// the state and do not count toward the dwell.
/// </summary>
public sealed class TargetTracker
{
    private readonly TargetSpec _spec;
    private readonly int _dwellFrames;
    private TargetState _raw = TargetState.Unspecified;
    private TargetState _pending = TargetState.Unspecified;
    private int _held;

    public TargetTracker(TargetSpec spec, double outputRateHz)
    {
        _spec = spec;
        _dwellFrames = (int)Math.Round(spec.DwellSeconds * outputRateHz);
    }

    public TargetSpec Spec => _spec;

    /// <summary>The reported state.</summary>
    public TargetState State { get; private set; } = TargetState.Unspecified;

    /// <summary>Frames the new raw state must hold before it is reported (dwell × output rate, rounded).</summary>
    public int DwellFrames => _dwellFrames;

    public TargetState Step(double percentMvc, bool valid)
    {
        if (!valid || !double.IsFinite(percentMvc))
        {
            return State;
        }
        _raw = Classify(percentMvc);
        if (State == TargetState.Unspecified)
        {
            State = _raw; // the first valid frame sets the state: there is nothing to flicker against yet
            _pending = _raw;
            _held = 0;
            return State;
        }
        if (_raw == State)
        {
            _pending = State;
            _held = 0;
            return State;
        }
        if (_raw != _pending)
        {
            _pending = _raw;
            _held = 0;
        }
        if (++_held >= Math.Max(1, _dwellFrames))
        {
            State = _pending;
            _held = 0;
        }
        return State;
    }

    private TargetState Classify(double pct)
    {
        // Inside the band between release and level, the raw state is the reported one (hysteresis).
        if (_spec.Direction == TargetDirection.Below)
        {
            bool wasAbove = State == TargetState.Above;
            return pct >= _spec.Level || (wasAbove && pct >= _spec.Release) ? TargetState.Above : TargetState.Inside;
        }
        bool wasInside = State == TargetState.Inside;
        return pct >= _spec.Level || (wasInside && pct >= _spec.Release) ? TargetState.Inside : TargetState.Below;
    }
}
