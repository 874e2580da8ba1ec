using EmgBiofeedback.Dsp;

namespace EmgBiofeedback.Sessions;

/// <summary>What a session's clinical layer is set up with: the montage, the stream's shape, the calibration rules.</summary>
public sealed record ClinicalSetup(
    Montage Montage,
    int ChannelCount,
    double SampleRateHz,
    double OutputRateHz,
    double RmsWindowMs,
    CalibrationSettings Calibration)
{
    /// <summary>Seconds before and after a marker whose mean %MVC the marker's effect compares.</summary>
    public double MarkerWindowSeconds { get; init; } = 10;

    public long Samples(double seconds) => (long)Math.Round(seconds * SampleRateHz);
}

/// <summary>One muscle's clinical values at one output instant: %MVC, the target state, and the target it refers to.</summary>
public readonly record struct ClinicalValue(float? MvcPercent, TargetState Target, TargetSpec? Spec = null);

/// <summary>What kind of thing a <see cref="ClinicalNotice"/> announces.</summary>
public enum NoticeKind
{
    /// <summary>A protocol phase begins (or the protocol ends: <see cref="PhaseKind.Done"/>).</summary>
    ProtocolPhase,

    /// <summary>A guided calibration step begins: what the patient should do now.</summary>
    CalibrationPrompt,

    /// <summary>A calibration window was judged (signal check, rest, one contraction): accepted, or refused per channel.</summary>
    CalibrationResult,

    /// <summary>A guided calibration step is over (all its windows judged, or aborted): its final result.</summary>
    CalibrationDone,

    /// <summary>A target was set or cleared.</summary>
    TargetSet,

    /// <summary>A marker, as typed.</summary>
    Marker,

    /// <summary>A stored calibration was applied, or an outcome score entered.</summary>
    Information,
}

/// <summary>The end of a calibration step: what was accepted and what was refused, per channel.</summary>
public sealed record CalibrationStepResult(CalibrationStep Step, string? Label, IReadOnlyDictionary<string, MuscleCalibration> Accepted,
    IReadOnlyList<ChannelRefusal> Refused, IReadOnlyDictionary<string, double> RestLevels)
{
    public bool Ok => Refused.Count == 0;
}

public enum CalibrationStep
{
    SignalCheck,
    Rest,
    Mvc,
}

/// <summary>
/// Something the session's layer says on sample time: the host publishes it as an event and, when it has an
/// <see cref="Annotation"/>, writes that into the recording at its position.
/// </summary>
public sealed record ClinicalNotice(NoticeKind Kind, long Position, string Message)
{
    public ClinicalAnnotation? Annotation { get; init; }
    public PhaseKind Phase { get; init; }
    public int Trial { get; init; }
    public int Trials { get; init; }
    public double SecondsLeft { get; init; }
    public string Instruction { get; init; } = "";
    public string Label { get; init; } = "";
    public CalibrationStepResult? Result { get; init; }
}

/// <summary>
/// The clinical layer of one session, a pure step on sample time: envelope frames in (µV, sample index, quality,
/// validity), %MVC and target state out, frame by frame. Everything a clinician does reaches it as a
/// <see cref="ClinicalAnnotation"/> at a sample position, the very text the recording keeps, so the live session (which
/// makes the annotations: guided calibration, targets, protocol, markers) and the offline analysis of its recording
/// (which reads them back) run the same code on the same frames and get the same values, bit for bit. It keeps every
/// frame for the summary (<see cref="SessionAnalysis"/>). Not thread-safe: one thread feeds it; the host serialises calls.
/// </summary>
public sealed class ClinicalSession
{
    private readonly ClinicalSetup _setup;
    private readonly int _channels;
    private readonly string[] _labels;
    private readonly MuscleCalibration?[] _calibration;
    private readonly TargetTracker?[] _targets;
    private readonly List<ClinicalAnnotation> _pending = [];
    private readonly List<ClinicalAnnotation> _applied = [];
    private readonly List<(long Position, string Label, TargetSpec? Spec)> _targetHistory = [];
    private readonly Dictionary<string, double> _roundRest = new(StringComparer.OrdinalIgnoreCase);
    private readonly FrameStore _frames;
    private Procedure? _procedure;

    public ClinicalSession(ClinicalSetup setup)
    {
        _setup = setup;
        _channels = setup.ChannelCount;
        _labels = ChannelLabels.ForMontage(setup.Montage, _channels);
        _calibration = new MuscleCalibration?[_channels];
        _targets = new TargetTracker?[_channels];
        _frames = new FrameStore(_channels);
    }

    public ClinicalSetup Setup => _setup;

    public IReadOnlyList<string> Labels => _labels;

    /// <summary>Every frame so far, for the summary.</summary>
    public FrameStore Frames => _frames;

    /// <summary>The annotations applied so far, in the order applied.</summary>
    public IReadOnlyList<ClinicalAnnotation> Applied => _applied;

    /// <summary>Each target change: from which position, which label, which target (null: cleared).</summary>
    public IReadOnlyList<(long Position, string Label, TargetSpec? Spec)> TargetHistory => _targetHistory;

    /// <summary>Raised for every notice, on the feeding thread.</summary>
    public event Action<ClinicalNotice>? Notice;

    /// <summary>The calibration of a label now, or null.</summary>
    public MuscleCalibration? CalibrationOf(string label) => Channel(label) is int c and >= 0 ? _calibration[c] : null;

    /// <summary>Every calibrated label with its calibration.</summary>
    public IReadOnlyDictionary<string, MuscleCalibration> Calibrations =>
        Enumerable.Range(0, _channels).Where(c => _calibration[c] is not null).ToDictionary(c => _labels[c], c => _calibration[c]!);

    public TargetSpec? TargetOf(string label) => Channel(label) is int c and >= 0 ? _targets[c]?.Spec : null;

    /// <summary>The running procedure (guided calibration step or protocol), or null.</summary>
    public string? Running => _procedure?.Describe();

    /// <summary>The running protocol's template, or null.</summary>
    public ProtocolTemplate? Protocol => (_procedure as ProtocolRun)?.Template;

    /// <summary>The sample position the next frame starts after: the last frame's index + 1 (0 before any frame).</summary>
    public long NextPosition => _frames.Count == 0 ? 0 : _frames.SampleIndex(_frames.Count - 1) + 1;

    /// <summary>
    /// Queues an annotation to take effect at its position (windows: at their end, when their frames are all in); the
    /// offline analysis feeds a recording's annotations through here. Applied before the first frame at or after it.
    /// </summary>
    public void Apply(ClinicalAnnotation annotation)
    {
        int at = _pending.Count;
        while (at > 0 && Effective(_pending[at - 1]) > Effective(annotation))
        {
            at--;
        }
        _pending.Insert(at, annotation);
    }

    /// <summary>
    /// One output instant: <paramref name="frame"/> has one envelope per channel (channel order), all with the same
    /// sample index; <paramref name="output"/> receives each channel's %MVC and target state.
    /// </summary>
    public void Process(ReadOnlySpan<EnvelopeSample> frame, Span<ClinicalValue> output)
    {
        long index = frame[0].SampleIndex;
        _procedure?.Advance(this, index);
        ApplyPending(index);
        int f = _frames.Add(index);
        for (int c = 0; c < _channels; c++)
        {
            EnvelopeSample s = c < frame.Length ? frame[c] : default;
            double pct = _calibration[c] is { } cal ? cal.PercentMvc(s.RmsMicrovolts) : double.NaN;
            TargetState state = TargetState.Unspecified;
            if (_targets[c] is { } tracker && double.IsFinite(pct))
            {
                state = tracker.Step(pct, s.IsValid);
            }
            _frames.Set(f, c, s.RmsMicrovolts, (byte)s.Quality, s.IsValid, pct, state);
            output[c] = new ClinicalValue(double.IsFinite(pct) ? (float)pct : null, state, _targets[c]?.Spec);
        }
    }

    private static long Effective(ClinicalAnnotation a) =>
        a.Kind is ClinicalAnnotationKind.CalibrationRest or ClinicalAnnotationKind.CalibrationMvc ? a.Position + a.Duration : a.Position;

    private void ApplyPending(long index)
    {
        while (_pending.Count > 0 && Effective(_pending[0]) <= index)
        {
            ClinicalAnnotation a = _pending[0];
            _pending.RemoveAt(0);
            ApplyNow(a);
        }
    }

    /// <summary>Applies every queued annotation now (the end of an offline analysis: windows that end after the last frame).</summary>
    public void Flush()
    {
        ApplyPending(long.MaxValue);
        if (_group is { } open)
        {
            CloseMvcGroup(open.Label, open.End, done: true);
        }
    }

    private void ApplyNow(ClinicalAnnotation a)
    {
        _applied.Add(a);
        if (_group is { } open && a.Kind is not (ClinicalAnnotationKind.CalibrationMvc or ClinicalAnnotationKind.CalibrationMvcEnd or ClinicalAnnotationKind.Marker or ClinicalAnnotationKind.Outcome))
        {
            CloseMvcGroup(open.Label, open.End, done: true); // a file made elsewhere: the next other annotation ends the step
        }
        switch (a.Kind)
        {
            case ClinicalAnnotationKind.CalibrationMvcEnd:
                CloseMvcGroup(a.Label, a.Position, a.Flag);
                break;
            case ClinicalAnnotationKind.CalibrationRest:
                CalibrateRest(a);
                break;
            case ClinicalAnnotationKind.CalibrationMvc:
                CalibrateMvc(a);
                break;
            case ClinicalAnnotationKind.CalibrationReused:
                if (Channel(a.Label) is int rc and >= 0 && a.Calibration is { } reused)
                {
                    _calibration[rc] = reused;
                }
                break;
            case ClinicalAnnotationKind.Target:
                if (Channel(a.Label) is int tc and >= 0)
                {
                    _targets[tc] = a.Target is { } spec ? new TargetTracker(spec, _setup.OutputRateHz) : null;
                    _targetHistory.Add((a.Position, _labels[tc], a.Target));
                }
                break;
        }
    }

    private int? Channel(string label)
    {
        for (int c = 0; c < _channels; c++)
        {
            if (string.Equals(_labels[c], label, StringComparison.OrdinalIgnoreCase))
            {
                return c;
            }
        }
        return null;
    }

    private IEnumerable<int> MontageChannels => _setup.Montage.Entries.Select(e => e.Channel).Where(c => c < _channels);

    /// <summary>The window [start, end) of frames: those whose sample index falls inside.</summary>
    private (int First, int Count) Window(long start, long length) => _frames.Range(start, start + length);

    private string? Problem(int channel, int first, int count) =>
        CalibrationMath.QualityProblem(_frames.Rms(channel).Slice(first, count), _frames.Quality(channel).Slice(first, count),
            _frames.Valid(channel).Slice(first, count), _setup.Calibration.MinValidShare);

    private void CalibrateRest(ClinicalAnnotation a)
    {
        // A rest window starts a calibration round: the MVC windows after it are judged against this rest.
        _roundRest.Clear();
        (int first, int count) = Window(a.Position, a.Duration);
        var refused = new List<ChannelRefusal>();
        var rest = new Dictionary<string, double>();
        foreach (int c in MontageChannels)
        {
            string? problem = Problem(c, first, count);
            if (problem is not null)
            {
                refused.Add(new ChannelRefusal(_labels[c], problem));
                continue;
            }
            double level = CalibrationMath.RestLevel(_frames.Rms(c).Slice(first, count), _frames.Valid(c).Slice(first, count));
            _roundRest[_labels[c]] = level;
            rest[_labels[c]] = level;
        }
        Raise(new ClinicalNotice(NoticeKind.CalibrationResult, a.Position + a.Duration, refused.Count == 0
            ? "Rest baseline accepted: " + string.Join(", ", rest.Select(r => $"{r.Key} {r.Value:0.0} µV"))
            : "Rest baseline refused: " + string.Join("; ", refused.Select(r => $"{r.Label}: {r.Reason}")))
        {
            Result = new CalibrationStepResult(CalibrationStep.Rest, null, new Dictionary<string, MuscleCalibration>(), refused, rest),
        });
    }

    /// <summary>One contraction of a guided MVC step: judged now, applied only when the step ends (<see cref="CloseMvcGroup"/>).</summary>
    private void CalibrateMvc(ClinicalAnnotation a)
    {
        int c = Channel(a.Label) ?? -1;
        if (c < 0)
        {
            return; // a label this montage does not have: nothing to calibrate (the offline reader warns)
        }
        string label = _labels[c];
        if (_group is { } open && !string.Equals(open.Label, label, StringComparison.Ordinal))
        {
            CloseMvcGroup(open.Label, open.End, done: true); // another muscle's contractions: the previous step is over
        }
        _group ??= new MvcGroup(label);
        (int first, int count) = Window(a.Position, a.Duration);
        int peakFrames = Math.Max(1, (int)Math.Round(CalibrationSettings.PeakWindowSeconds * _setup.OutputRateHz));
        string? problem = Problem(c, first, count);
        double value = problem is null
            ? CalibrationMath.PeakMean(_frames.Rms(c).Slice(first, count), _frames.Valid(c).Slice(first, count), peakFrames)
            : double.NaN;
        _group.Values.Add(value);
        _group.Seconds = a.Duration / _setup.SampleRateHz;
        _group.End = a.Position + a.Duration;
        int k = _group.Values.Count;
        if (problem is not null)
        {
            _group.Refusals.Add($"contraction {k}: {problem}");
        }
        Raise(new ClinicalNotice(NoticeKind.CalibrationResult, a.Position + a.Duration, problem is null
            ? $"{label}: contraction {k} peak {value:0.0} µV"
            : $"{label}: contraction {k} refused: {problem}")
        {
            Label = label,
        });
    }

    /// <summary>
    /// The end of a muscle's guided MVC step: its contractions are judged together. Refused (nothing applied, the earlier
    /// calibration stays) when any contraction failed the quality rules, when no rest baseline of this round exists, or
    /// when the median is not clearly above rest; else the MVC is the median and applies from here on.
    /// </summary>
    private void CloseMvcGroup(string label, long position, bool done)
    {
        MvcGroup? group = _group;
        if (group is null || !string.Equals(group.Label, label, StringComparison.OrdinalIgnoreCase))
        {
            return;
        }
        _group = null;
        int c = Channel(group.Label)!.Value;
        if (!done)
        {
            Raise(new ClinicalNotice(NoticeKind.CalibrationResult, position, $"MVC of {group.Label} aborted: nothing from it is used")
            {
                Label = group.Label,
                Result = new CalibrationStepResult(CalibrationStep.Mvc, group.Label, new Dictionary<string, MuscleCalibration>(),
                    [new ChannelRefusal(group.Label, "aborted")], new Dictionary<string, double>(_roundRest)),
            });
            return;
        }
        double mvc = CalibrationMath.Median(group.Values);
        string? reason = group.Refusals.Count > 0 ? string.Join("; ", group.Refusals)
            : !_roundRest.TryGetValue(group.Label, out double rest) ? "no accepted rest baseline in this calibration: calibrate rest first"
            : !(mvc >= _setup.Calibration.MinMvcToRestRatio * rest)
                ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"MVC {mvc:0.0} µV is not clearly above rest {rest:0.0} µV (needs at least {_setup.Calibration.MinMvcToRestRatio:0.#} × rest)")
                : null;
        if (reason is null)
        {
            _calibration[c] = new MuscleCalibration(_roundRest[group.Label], mvc,
                CalibrationSettings.MvcMethod(group.Values.Count, group.Seconds, _setup.RmsWindowMs), PositionToTime(position));
        }
        Raise(new ClinicalNotice(NoticeKind.CalibrationResult, position, reason is null
            ? $"MVC of {group.Label}: {mvc:0.0} µV (median of {group.Values.Count})"
            : $"MVC of {group.Label} refused: {reason}")
        {
            Label = group.Label,
            Result = new CalibrationStepResult(CalibrationStep.Mvc, group.Label,
                reason is null ? new Dictionary<string, MuscleCalibration> { [group.Label] = _calibration[c]! } : new Dictionary<string, MuscleCalibration>(),
                reason is null ? [] : [new ChannelRefusal(group.Label, reason)], new Dictionary<string, double>(_roundRest)),
        });
    }

    private sealed class MvcGroup(string label)
    {
        public string Label { get; } = label;
        public List<double> Values { get; } = [];
        public List<string> Refusals { get; } = [];
        public double Seconds { get; set; }
        public long End { get; set; }
    }

    private MvcGroup? _group;

    /// <summary>The calibration's instant: the session clock's position of its window's end (the host maps it to a date).</summary>
    public Func<long, DateTimeOffset> PositionToTime { get; set; } = _ => DateTimeOffset.UnixEpoch;

    private DateTimeOffset CalibratedAt(ClinicalAnnotation a) => PositionToTime(a.Position + a.Duration);

    private CalibrationStepResult? _lastResult;

    private void Raise(ClinicalNotice notice)
    {
        if (notice.Result is { } result)
        {
            _lastResult = result;
        }
        Notice?.Invoke(notice);
    }

    // ---- live actions: each makes an annotation (written into the recording by the host) and applies it ----

    /// <summary>Marks a moment at <paramref name="position"/> with the clinician's text.</summary>
    public ClinicalAnnotation Mark(string text, long position)
    {
        CheckMarker(text);
        text = text.Trim();
        var a = new ClinicalAnnotation(ClinicalAnnotationKind.Marker, position, 0, text) { Label = text };
        Emit(new ClinicalNotice(NoticeKind.Marker, position, $"Marker: {text}") { Annotation = a, Label = text });
        return a;
    }

    /// <summary>
    /// Refuses a marker text that the recording would read back as something else: a clinical action of the vocabulary
    /// ("trial 1 work", "target SCM L off", ...) or, with <paramref name="isStationNote"/>, one of the station's own notes.
    /// </summary>
    public static void CheckMarker(string text, Func<string, bool>? isStationNote = null)
    {
        if (string.IsNullOrWhiteSpace(text) || text.Length > 64 || text.Any(char.IsControl))
        {
            throw new SessionRuleException("label", "label must be 1-64 printable characters.");
        }
        if (isStationNote?.Invoke(text.Trim()) == true || ClinicalAnnotation.Parse(text, 0, 0)?.Kind != ClinicalAnnotationKind.Marker)
        {
            throw new SessionRuleException("label", $"label \"{text.Trim()}\" reads as one of the recording's own annotations (docs/recordings.md): reword the marker.");
        }
    }

    /// <summary>Sets (or with null clears) a label's target from <paramref name="position"/>.</summary>
    public ClinicalAnnotation SetTarget(string label, TargetSpec? target, long position)
    {
        int c = Channel(label) ?? throw new SessionRuleException("label", $"label \"{label}\" is not in the montage ({string.Join(", ", _setup.Montage.Entries.Select(e => e.Label))}).");
        if (target is not null)
        {
            target.Validate();
            if (target.Partner is { } partner && (Channel(partner) is not int pc || pc == c))
            {
                throw new SessionRuleException("partner", $"partner \"{partner}\" must be another muscle of the montage.");
            }
        }
        string text = ClinicalAnnotation.TargetText(_labels[c], target);
        ClinicalAnnotation a = ClinicalAnnotation.Parse(text, position, 0)!;
        Emit(new ClinicalNotice(NoticeKind.TargetSet, position, target is null ? $"Target of {_labels[c]} cleared" : $"Target: {text["target ".Length..]}")
        {
            Annotation = a,
            Label = _labels[c],
        });
        return a;
    }

    /// <summary>Applies stored calibrations from <paramref name="position"/> (labels of this montage only).</summary>
    public IReadOnlyList<ClinicalAnnotation> Reuse(IReadOnlyDictionary<string, MuscleCalibration> stored, long position)
    {
        var made = new List<ClinicalAnnotation>();
        foreach ((string label, MuscleCalibration calibration) in stored)
        {
            if (Channel(label) is int c and >= 0)
            {
                ClinicalAnnotation a = ClinicalAnnotation.Parse(ClinicalAnnotation.ReusedText(_labels[c], calibration), position, 0)!;
                Emit(new ClinicalNotice(NoticeKind.Information, position, $"Calibration of {_labels[c]} from {calibration.CalibratedAt:yyyy-MM-dd} reused") { Annotation = a, Label = _labels[c] });
                made.Add(a);
            }
        }
        return made;
    }

    /// <summary>Records an outcome score entered for this session.</summary>
    public ClinicalAnnotation Outcome(string score, double value, long position)
    {
        if (!ClinicalAnnotation.OutcomeScores.Contains(score))
        {
            throw new SessionRuleException("outcome", $"outcome \"{score}\" is not one of {string.Join(", ", ClinicalAnnotation.OutcomeScores)}.");
        }
        (double min, double max) = score switch { "twstrs_total" => (0.0, 85.0), "tsui" => (0.0, 25.0), _ => (0.0, 36500.0) };
        if (!double.IsFinite(value) || value < min || value > max)
        {
            throw new SessionRuleException(score, $"{score} {value} must be {min}-{max}.");
        }
        ClinicalAnnotation a = ClinicalAnnotation.Parse(ClinicalAnnotation.OutcomeText(score, value), position, 0)!;
        Emit(new ClinicalNotice(NoticeKind.Information, position, $"Outcome {score} = {value}") { Annotation = a });
        return a;
    }

    private void Emit(ClinicalNotice notice)
    {
        if (notice.Annotation is { } a)
        {
            Apply(a);
        }
        Raise(notice);
    }

    /// <summary>Starts a guided calibration step at <paramref name="position"/>: the signal check, the rest baseline, or a muscle's MVC.</summary>
    public void StartCalibration(CalibrationStep step, string? label, long position)
    {
        if (_procedure is not null)
        {
            throw new SessionStateException($"{_procedure.Describe()} is running: wait for it to end or abort it.");
        }
        if (MontageChannels.Count() == 0)
        {
            throw new SessionStateException("The session has no montage: start it with a montage to calibrate.");
        }
        int? channel = null;
        if (step == CalibrationStep.Mvc)
        {
            channel = Channel(label ?? "") ?? throw new SessionRuleException("label", $"label \"{label}\" is not in the montage ({string.Join(", ", _setup.Montage.Entries.Select(e => e.Label))}).");
        }
        _procedure = new CalibrationRun(step, channel is int c ? _labels[c] : null, position, this);
    }

    /// <summary>Starts a protocol at <paramref name="position"/>.</summary>
    public void StartProtocol(ProtocolTemplate template, long position)
    {
        template.Validate();
        if (_procedure is not null)
        {
            throw new SessionStateException($"{_procedure.Describe()} is running: wait for it to end or abort it.");
        }
        _procedure = new ProtocolRun(template, position, this);
    }

    public void Pause(long position) =>
        (_procedure as ProtocolRun ?? throw new SessionStateException("No protocol is running.")).Pause(this, position);

    public void Resume(long position) =>
        (_procedure as ProtocolRun ?? throw new SessionStateException("No protocol is running.")).Resume(this, position);

    /// <summary>Ends the running procedure at <paramref name="position"/>; the part of a phase already done is kept.</summary>
    public void Abort(long position)
    {
        Procedure procedure = _procedure ?? throw new SessionStateException("Nothing is running: no calibration step or protocol to abort.");
        procedure.Abort(this, position);
        _procedure = null;
    }

    /// <summary>Stops whatever runs at the session's end, keeping the parts already done.</summary>
    public void End(long position)
    {
        _procedure?.Abort(this, position);
        _procedure = null;
    }

    private abstract class Procedure
    {
        public abstract string Describe();

        public abstract void Advance(ClinicalSession session, long index);

        public abstract void Abort(ClinicalSession session, long position);
    }

    /// <summary>A guided calibration step: timed windows on sample time, prompts at each boundary, the annotation at each window's end.</summary>
    private sealed class CalibrationRun : Procedure
    {
        private readonly CalibrationStep _step;
        private readonly string? _label;
        private readonly List<(long Start, long Length, bool Measure, string Prompt)> _windows = [];
        private int _at;

        public CalibrationRun(CalibrationStep step, string? label, long position, ClinicalSession session)
        {
            _step = step;
            _label = label;
            CalibrationSettings s = session._setup.Calibration;
            long start = position;
            switch (step)
            {
                case CalibrationStep.SignalCheck:
                    _windows.Add((start, session._setup.Samples(s.SignalCheckSeconds), true, "Signal check: sit still and relax"));
                    break;
                case CalibrationStep.Rest:
                    _windows.Add((start, session._setup.Samples(s.RestSeconds), true, "Rest baseline: sit still, let every muscle go"));
                    break;
                default:
                    for (int k = 1; k <= s.Contractions; k++)
                    {
                        long length = session._setup.Samples(s.ContractionSeconds);
                        _windows.Add((start, length, true, $"Contract {label} as hard as you can ({k} of {s.Contractions})"));
                        start += length;
                        if (k < s.Contractions && s.RestBetweenSeconds > 0)
                        {
                            long rest = session._setup.Samples(s.RestBetweenSeconds);
                            _windows.Add((start, rest, false, $"Relax ({k} of {s.Contractions} done)"));
                            start += rest;
                        }
                    }
                    break;
            }
            Prompt(session, 0);
        }

        public override string Describe() => _step switch
        {
            CalibrationStep.SignalCheck => "The signal check",
            CalibrationStep.Rest => "The rest calibration",
            _ => $"The MVC calibration of {_label}",
        };

        private void Prompt(ClinicalSession session, int i)
        {
            var w = _windows[i];
            session.Raise(new ClinicalNotice(NoticeKind.CalibrationPrompt, w.Start, w.Prompt)
            {
                Instruction = w.Prompt,
                SecondsLeft = w.Length / session._setup.SampleRateHz,
                Label = _label ?? "",
                Trial = _windows.Take(i + 1).Count(x => x.Measure),
                Trials = _windows.Count(x => x.Measure),
            });
        }

        public override void Advance(ClinicalSession session, long index)
        {
            while (_at < _windows.Count && index >= _windows[_at].Start + _windows[_at].Length)
            {
                var w = _windows[_at];
                if (w.Measure)
                {
                    Finish(session, w.Start, w.Length);
                }
                _at++;
                if (_at < _windows.Count)
                {
                    Prompt(session, _at);
                }
            }
            if (_at >= _windows.Count && ReferenceEquals(session._procedure, this))
            {
                session._procedure = null;
                if (_step == CalibrationStep.Mvc)
                {
                    long end = _windows[^1].Start + _windows[^1].Length;
                    session.Emit(new ClinicalNotice(NoticeKind.Information, end, $"MVC step of {_label} ended")
                    {
                        Annotation = ClinicalAnnotation.Parse(ClinicalAnnotation.CalibrationMvcEndText(_label!, done: true), end, 0),
                    });
                    session.ApplyPending(end);
                }
                CalibrationStepResult result = session._lastResult!;
                session.Notice?.Invoke(new ClinicalNotice(NoticeKind.CalibrationDone, index, result.Ok ? $"{Describe()} is done" : $"{Describe()} was refused")
                {
                    Label = _label ?? "",
                    Result = result,
                });
            }
        }

        private void Finish(ClinicalSession session, long start, long length)
        {
            switch (_step)
            {
                case CalibrationStep.SignalCheck:
                    session.SignalCheck(start, length);
                    break;
                case CalibrationStep.Rest:
                    session.Emit(new ClinicalNotice(NoticeKind.Information, start + length, "Rest window ended")
                    {
                        Annotation = new ClinicalAnnotation(ClinicalAnnotationKind.CalibrationRest, start, length, ClinicalAnnotation.CalibrationRestText),
                    });
                    break;
                default:
                    session.Emit(new ClinicalNotice(NoticeKind.Information, start + length, $"Contraction of {_label} ended")
                    {
                        Annotation = new ClinicalAnnotation(ClinicalAnnotationKind.CalibrationMvc, start, length, ClinicalAnnotation.CalibrationMvcText(_label!)) { Label = _label! },
                    });
                    break;
            }
            session.ApplyPending(start + length);
        }

        public override void Abort(ClinicalSession session, long position)
        {
            if (_step == CalibrationStep.Mvc)
            {
                session.Emit(new ClinicalNotice(NoticeKind.Information, position, $"MVC step of {_label} aborted")
                {
                    Annotation = ClinicalAnnotation.Parse(ClinicalAnnotation.CalibrationMvcEndText(_label!, done: false), position, 0),
                });
                session.ApplyPending(position);
            }
            session.Raise(new ClinicalNotice(NoticeKind.CalibrationDone, position, $"{Describe()} was aborted")
            {
                Result = new CalibrationStepResult(_step, _label, new Dictionary<string, MuscleCalibration>(), [new ChannelRefusal(_label ?? "all", "aborted")], new Dictionary<string, double>()),
            });
        }
    }

    private void SignalCheck(long start, long length)
    {
        (int first, int count) = Window(start, length);
        var refused = new List<ChannelRefusal>();
        foreach (int c in MontageChannels)
        {
            string? problem = Problem(c, first, count);
            byte any = 0;
            foreach (byte q in _frames.Quality(c).Slice(first, count))
            {
                any |= q;
            }
            problem ??= (any & (byte)SignalQualityFlags.MainsContamination) != 0 ? "mains hum: check the electrode's contact and the reference electrode"
                : (any & (byte)SignalQualityFlags.NoisyBaseline) != 0 ? "noisy baseline at rest: check the skin preparation and the cable" : null;
            if (problem is not null)
            {
                refused.Add(new ChannelRefusal(_labels[c], problem));
            }
        }
        Raise(new ClinicalNotice(NoticeKind.CalibrationResult, start + length, refused.Count == 0
            ? "Signal check passed: every electrode is clean"
            : "Signal check failed: " + string.Join("; ", refused.Select(r => $"{r.Label}: {r.Reason}")))
        {
            Result = new CalibrationStepResult(CalibrationStep.SignalCheck, null, new Dictionary<string, MuscleCalibration>(), refused, new Dictionary<string, double>()),
        });
    }

    /// <summary>A protocol run: its phases on sample time, paused time not counted, the annotation of each phase at its end.</summary>
    private sealed class ProtocolRun : Procedure
    {
        private readonly IReadOnlyList<ProtocolPhase> _phases;
        private int _at;
        private long _phaseStart;
        private long _remaining;
        private bool _paused;

        public ProtocolRun(ProtocolTemplate template, long position, ClinicalSession session)
        {
            Template = template;
            _phases = template.Phases(session._setup.SampleRateHz);
            session.Emit(new ClinicalNotice(NoticeKind.Information, position, $"Protocol {template.Name} started")
            {
                Annotation = new ClinicalAnnotation(ClinicalAnnotationKind.Protocol, position, 0, ClinicalAnnotation.ProtocolText(template.Name, "start")),
            });
            Begin(session, 0, position, _phases[0].Samples);
        }

        public ProtocolTemplate Template { get; }

        public override string Describe() => $"Protocol {Template.Name}";

        private void Begin(ClinicalSession session, int i, long start, long length)
        {
            _at = i;
            _phaseStart = start;
            _remaining = length;
            ProtocolPhase p = _phases[i];
            session.Raise(new ClinicalNotice(NoticeKind.ProtocolPhase, start, p.Kind switch
            {
                PhaseKind.Work => $"Trial {p.Trial} of {Template.Trials}: work",
                PhaseKind.Rest => $"Trial {p.Trial} of {Template.Trials}: rest",
                PhaseKind.BaselinePre => "Baseline before the trials",
                _ => "Baseline after the trials",
            })
            {
                Phase = p.Kind,
                Trial = p.Trial,
                Trials = Template.Trials,
                SecondsLeft = length / session._setup.SampleRateHz,
                Instruction = p.Instruction,
            });
        }

        private void Close(ClinicalSession session, long end)
        {
            long length = end - _phaseStart;
            if (length > 0)
            {
                ProtocolPhase p = _phases[_at];
                session.Emit(new ClinicalNotice(NoticeKind.Information, end, $"{p.AnnotationText} ended")
                {
                    Annotation = ClinicalAnnotation.Parse(p.AnnotationText, _phaseStart, length),
                });
            }
        }

        public override void Advance(ClinicalSession session, long index)
        {
            while (!_paused && _at < _phases.Count && index >= _phaseStart + _remaining)
            {
                long end = _phaseStart + _remaining;
                Close(session, end);
                if (_at + 1 < _phases.Count)
                {
                    Begin(session, _at + 1, end, _phases[_at + 1].Samples);
                }
                else
                {
                    _at = _phases.Count;
                    session.Emit(new ClinicalNotice(NoticeKind.ProtocolPhase, end, $"Protocol {Template.Name} done")
                    {
                        Phase = PhaseKind.Done,
                        Trials = Template.Trials,
                        Annotation = new ClinicalAnnotation(ClinicalAnnotationKind.Protocol, end, 0, ClinicalAnnotation.ProtocolText(Template.Name, "end")),
                    });
                    if (ReferenceEquals(session._procedure, this))
                    {
                        session._procedure = null;
                    }
                }
            }
        }

        public void Pause(ClinicalSession session, long position)
        {
            if (_paused)
            {
                throw new SessionStateException($"Protocol {Template.Name} is already paused.");
            }
            Advance(session, position);
            if (_at >= _phases.Count)
            {
                return;
            }
            Close(session, position);
            _remaining -= position - _phaseStart;
            _paused = true;
            session.Emit(new ClinicalNotice(NoticeKind.ProtocolPhase, position, $"Protocol {Template.Name} paused")
            {
                Phase = _phases[_at].Kind,
                Trial = _phases[_at].Trial,
                Trials = Template.Trials,
                SecondsLeft = _remaining / session._setup.SampleRateHz,
                Instruction = "Paused",
                Annotation = new ClinicalAnnotation(ClinicalAnnotationKind.Protocol, position, 0, ClinicalAnnotation.ProtocolText(Template.Name, "pause")),
            });
        }

        public void Resume(ClinicalSession session, long position)
        {
            if (!_paused)
            {
                throw new SessionStateException($"Protocol {Template.Name} is not paused.");
            }
            _paused = false;
            session.Emit(new ClinicalNotice(NoticeKind.Information, position, $"Protocol {Template.Name} resumed")
            {
                Annotation = new ClinicalAnnotation(ClinicalAnnotationKind.Protocol, position, 0, ClinicalAnnotation.ProtocolText(Template.Name, "resume")),
            });
            Begin(session, _at, position, _remaining);
        }

        public override void Abort(ClinicalSession session, long position)
        {
            if (!_paused && _at < _phases.Count)
            {
                Advance(session, position);
                if (_at < _phases.Count)
                {
                    Close(session, position);
                }
            }
            session.Emit(new ClinicalNotice(NoticeKind.ProtocolPhase, position, $"Protocol {Template.Name} aborted")
            {
                Phase = PhaseKind.Done,
                Trials = Template.Trials,
                Annotation = new ClinicalAnnotation(ClinicalAnnotationKind.Protocol, position, 0, ClinicalAnnotation.ProtocolText(Template.Name, "abort")),
            });
        }
    }
}

/// <summary>A request that cannot be served in the current state (no session, one already open, a step running).</summary>
public sealed class SessionStateException(string message) : Exception(message);

/// <summary>
/// Every frame of a session, column by column: per channel the envelope (µV), quality bits, validity, %MVC (NaN when
/// not calibrated) and target state. Grows by doubling; 22 bytes per channel per frame and 8 for its sample index
/// (8 channels at 50 Hz: 33 MB an hour of session).
/// </summary>
public sealed class FrameStore(int channels)
{
    private long[] _index = new long[1024];
    private double[][] _rms = Columns<double>(channels, 1024);
    private byte[][] _quality = Columns<byte>(channels, 1024);
    private bool[][] _valid = Columns<bool>(channels, 1024);
    private double[][] _pct = Columns<double>(channels, 1024);
    private TargetState[][] _state = Columns<TargetState>(channels, 1024);

    public int Count { get; private set; }

    public int Channels => channels;

    private static T[][] Columns<T>(int n, int length) => Enumerable.Range(0, n).Select(_ => new T[length]).ToArray();

    public int Add(long sampleIndex)
    {
        if (Count == _index.Length)
        {
            int size = _index.Length * 2;
            Array.Resize(ref _index, size);
            for (int c = 0; c < channels; c++)
            {
                Array.Resize(ref _rms[c], size);
                Array.Resize(ref _quality[c], size);
                Array.Resize(ref _valid[c], size);
                Array.Resize(ref _pct[c], size);
                Array.Resize(ref _state[c], size);
            }
        }
        _index[Count] = sampleIndex;
        return Count++;
    }

    public void Set(int frame, int channel, double rms, byte quality, bool valid, double pct, TargetState state)
    {
        _rms[channel][frame] = rms;
        _quality[channel][frame] = quality;
        _valid[channel][frame] = valid;
        _pct[channel][frame] = pct;
        _state[channel][frame] = state;
    }

    public long SampleIndex(int frame) => _index[frame];

    public ReadOnlySpan<long> SampleIndices => _index.AsSpan(0, Count);

    public ReadOnlySpan<double> Rms(int channel) => _rms[channel].AsSpan(0, Count);

    public ReadOnlySpan<byte> Quality(int channel) => _quality[channel].AsSpan(0, Count);

    public ReadOnlySpan<bool> Valid(int channel) => _valid[channel].AsSpan(0, Count);

    public ReadOnlySpan<double> Percent(int channel) => _pct[channel].AsSpan(0, Count);

    public ReadOnlySpan<TargetState> States(int channel) => _state[channel].AsSpan(0, Count);

    /// <summary>Frames whose sample index is in [start, end): the first one and how many.</summary>
    public (int First, int Count) Range(long start, long end)
    {
        ReadOnlySpan<long> idx = SampleIndices;
        int first = LowerBound(idx, start);
        int last = LowerBound(idx, end);
        return (first, Math.Max(0, last - first));
    }

    private static int LowerBound(ReadOnlySpan<long> sorted, long value)
    {
        int lo = 0, hi = sorted.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (sorted[mid] < value)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }
        return lo;
    }
}
