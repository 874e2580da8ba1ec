using System.ComponentModel.DataAnnotations;
using System.Text.RegularExpressions;
using EmgBiofeedback.Acquisition;
using EmgBiofeedback.Pipeline;
using EmgBiofeedback.Recording;
using EmgBiofeedback.Sessions;
using Microsoft.Extensions.Options;

namespace EmgBiofeedback.Server;

/// <summary>An open session: who (a pseudonymous code, never a name), which montage, since when.</summary>
public sealed record Session(string SessionId, string PatientCode, DateTimeOffset StartedAt, Montage Montage);

public sealed record Marker(string Label, DateTimeOffset Time, long SampleIndex);

/// <summary>A session that ended: its counts, its clinical summary, where its recording and summary are.</summary>
public sealed record StoppedSession(Session Session, DateTimeOffset StoppedAt, long ActivationFrames, long LostSamples, int Markers,
    SessionSummary? Summary, string? RecordingPath, string? SummaryPath);

/// <summary>Told of session changes on the acquisition thread: history tags its points with the session.</summary>
public interface ISessionObserver
{
    /// <param name="firstSampleIndex">The acquisition index of the session's first sample (its recording's first), or -1 when not known yet.</param>
    void SessionStarted(Session session, IReadOnlyList<string> labels, long firstSampleIndex);

    void Annotated(ClinicalAnnotation annotation, DateTimeOffset time);

    /// <summary>
    /// The session's samples end just before <paramref name="endSampleIndex"/> (its recording's end; -1 when no sample
    /// was flowing), told at that sample; <see cref="SessionStopped"/> follows once the summary and report are written.
    /// </summary>
    void SessionEnded(Session session, long endSampleIndex);

    void SessionStopped(StoppedSession stopped);
}

/// <summary>
/// Configuration section "Sessions". Markers are limited so that a stuck button or a looping client cannot flood
/// the recording (each marker is an annotation in a one-second record with room for Recording:NotesPerSecond notes).
/// </summary>
public sealed class SessionOptions
{
    public const string SectionName = "Sessions";

    /// <summary>Sustained markers per second a session accepts (a token bucket refilled at this rate).</summary>
    [Range(0.01, 200)]
    public double MarkersPerSecond { get; set; } = 10;

    /// <summary>Markers that may come at once (the bucket's size) before the sustained rate applies.</summary>
    [Range(1, 1000)]
    public int MarkerBurst { get; set; } = 20;

    /// <summary>Markers in one session; clinical sessions set a few dozen.</summary>
    [Range(1, 100_000)]
    public int MaxMarkersPerSession { get; set; } = 300;

    /// <summary>Seconds before and after a marker that its effect compares.</summary>
    [Range(1, 120)]
    public double MarkerWindowSeconds { get; set; } = 10;

    /// <summary>The guided calibration's windows and rules.</summary>
    [ValidateObjectMembers]
    public CalibrationSettings Calibration { get; set; } = new();
}

[OptionsValidator]
public sealed partial class SessionOptionsValidator : IValidateOptions<SessionOptions>;

/// <summary>A request refused by a limit (gRPC ResourceExhausted); nothing was recorded.</summary>
public sealed class SessionLimitException(string message) : Exception(message);

/// <summary>
/// The host's side of a session: opens and closes it, starts and stops its recording, and runs every clinical action
/// (calibration, targets, protocol, markers) on the acquisition thread at one exact sample through
/// <see cref="LivePipeline.RunAtNextSample"/>, so the clinical layer (<see cref="ClinicalSession"/>), the recording's
/// annotation and the live frames agree on where it happened. At the start the signal chain restarts with the
/// recording's first sample: the session's envelopes, %MVC and indices then equal those an offline run of its recording
/// computes. The domain decisions are the clinical layer's; this class wires it to the station.
/// </summary>
public sealed partial class SessionManager
{
    private static readonly TimeSpan ActionTimeout = TimeSpan.FromSeconds(5);
    private readonly LivePipeline _pipeline;
    private readonly TimeProvider _time;
    private readonly IEnumerable<ISessionObserver> _observers;
    private readonly SessionOptions _options;
    private readonly Recorder? _recorder;
    private readonly CalibrationStore? _calibrations;
    private readonly string _station;
    private readonly string _recordingsFolder;
    private readonly ILogger<SessionManager>? _logger;
    private readonly Lock _gate = new();
    private double _markerTokens;
    private DateTimeOffset _markerRefilledAt;
    private volatile Session? _current;
    private IReadOnlyList<string>? _labelsBefore;
    private ulong _firstFrame;
    private long _lostAtStart;
    private int _markers;
    private TaskCompletionSource<CalibrationStepResult>? _calibrationWaiter;
    private StoppedSession? _last;

    public SessionManager(LivePipeline pipeline, TimeProvider time, IEnumerable<ISessionObserver> observers, IOptions<SessionOptions>? options = null,
        Recorder? recorder = null, CalibrationStore? calibrations = null, IOptions<RecorderOptions>? recording = null, ILogger<SessionManager>? logger = null)
    {
        _pipeline = pipeline;
        _time = time;
        _observers = observers;
        _options = options?.Value ?? new SessionOptions();
        _recorder = recorder;
        _calibrations = calibrations;
        _station = recording?.Value.Station ?? "station";
        _recordingsFolder = recording?.Value.Folder ?? "recordings";
        _logger = logger;
        pipeline.ChainStarted += OnChainStarted;
        if (recorder is not null)
        {
            recorder.RecordingFailed += OnRecordingFailed;
        }
    }

    /// <summary>The recording stopped (its file cannot be written): the session goes on live, and every client is told.</summary>
    private void OnRecordingFailed(string? path, string reason)
    {
        string file = path is null ? "the session's recording" : $"Recording {Path.GetFileName(path)}";
        // Clients never see the server's paths (docs/api.md): the file by its name, anything else withheld.
        string why = path is null ? reason : reason.Replace(path, Path.GetFileName(path), StringComparison.Ordinal);
        why = ClientErrors.WithoutServerPaths(why, Path.GetDirectoryName(path) ?? Path.GetFullPath(_recordingsFolder));
        _pipeline.Publish(new LiveEvent(0, StationEventKind.RecordingStopped, _time.GetUtcNow(),
            $"{file} stopped: {why}. The session goes on live; nothing more of it is recorded (samples not recorded are counted)")
        {
            SampleIndex = Math.Max(0, _pipeline.CurrentSampleIndex),
        });
    }

    /// <summary>The open session (read without the lock: the acquisition thread reads it while a caller holds it).</summary>
    public Session? Current => _current;

    /// <summary>What runs now (a guided calibration step or a protocol), or null.</summary>
    public string? Running => _pipeline.WithClinical(c => c?.Running);

    /// <summary>The last session that ended since start-up, or null.</summary>
    public StoppedSession? Last
    {
        get { lock (_gate) { return _last; } }
    }

    /// <param name="montage">The montage; null for the station's own (its channel labels, e.g. Live:ChannelLabels or the
    /// simulated board's muscles) when they name muscles, else the default preset.</param>
    /// <param name="lostSamplesSoFar">The acquisition's lost-sample count now, to report the session's own losses.</param>
    public Session Start(string patientCode, Montage? montage, long lostSamplesSoFar, IReadOnlyDictionary<string, double>? outcomes = null)
    {
        if (!PatientCode.IsValid(patientCode))
        {
            throw new SessionRuleException("patient_code", $"patient_code must be {PatientCode.Rule}.");
        }
        int channels = _pipeline.ChannelCount;
        montage = (montage ?? StationMontage()).On(channels);
        foreach ((string score, double value) in outcomes ?? new Dictionary<string, double>())
        {
            // Checked before anything opens: an out-of-range score refuses the start.
            new ClinicalSession(new ClinicalSetup(montage, 0, 1, 1, 100, _options.Calibration)).Outcome(score, value, 0);
        }
        lock (_gate)
        {
            if (_current is not null)
            {
                throw new SessionStateException($"Session {_current.SessionId} is already open; stop it first.");
            }
            DateTimeOffset now = _time.GetUtcNow();
            var session = new Session($"{now:yyyyMMdd-HHmmss}-{patientCode}", patientCode!, now, montage);
            _current = session;
            _firstFrame = _pipeline.Latest?.Sequence ?? 0;
            _lostAtStart = lostSamplesSoFar;
            _markers = 0;
            _markerTokens = _options.MarkerBurst;
            _markerRefilledAt = now;
            _pipeline.RunAtNextSample(p =>
            {
                // The chain restarts with the recording's first sample: this sample.
                p = p.RestartChain();
                _labelsBefore = _pipeline.Labels;
                IReadOnlyList<string> labels = ChannelLabels.ForMontage(montage, Math.Max(_pipeline.ChannelCount, montage.Entries.Count == 0 ? 0 : montage.Entries.Max(m => m.Channel) + 1));
                _pipeline.SetLabels(labels);
                _recorder?.Start(new RecordingRequest(_station, session.SessionId, session.PatientCode, labels));
                ClinicalSession? clinical = CreateClinical(session);
                p.SetClinical(clinical);
                _pipeline.Publish(new LiveEvent(0, StationEventKind.SessionStarted, now, $"Session {session.SessionId} started"));
                foreach (ISessionObserver observer in _observers)
                {
                    observer.SessionStarted(session, labels, p.SampleIndex);
                }
                foreach ((string score, double value) in outcomes ?? new Dictionary<string, double>())
                {
                    clinical?.Outcome(score, value, p.Position);
                }
                return 0;
            }, ActionTimeout);
            return session;
        }
    }

    private Montage StationMontage()
    {
        Montage station = Montage.FromLabels(_pipeline.Labels);
        return station.Entries.Count > 0 ? Montage.Create(station.Entries, 0, "station") : Montage.Default;
    }

    /// <summary>A session's clinical layer, once the stream's shape is known (else when the board's chain starts).</summary>
    private ClinicalSession? CreateClinical(Session session)
    {
        if (_pipeline.Stream is not { } stream)
        {
            return null;
        }
        var clinical = new ClinicalSession(new ClinicalSetup(session.Montage, _pipeline.ChannelCount, stream.SampleRateHz, stream.OutputRateHz,
            stream.RmsWindowMs, _options.Calibration) { MarkerWindowSeconds = _options.MarkerWindowSeconds });
        DateTimeOffset start = _recorder?.CurrentStart ?? session.StartedAt;
        clinical.PositionToTime = p => start.AddSeconds(p / (double)stream.SampleRateHz);
        clinical.Notice += OnNotice;
        return clinical;
    }

    private void OnChainStarted()
    {
        Session? session = Current;
        if (session is not null && _pipeline.Clinical is null)
        {
            _pipeline.AttachClinical(CreateClinical(session));
        }
    }

    /// <summary>A notice of the clinical layer (on the acquisition thread): into the recording, onto the event stream.</summary>
    private void OnNotice(ClinicalNotice notice)
    {
        DateTimeOffset now = _time.GetUtcNow();
        if (notice.Annotation is { } a)
        {
            if (_recorder is not null && !_recorder.Mark(a.Text, a.Position, a.Duration))
            {
                if (_logger is not null)
                {
                    AnnotationNotRecorded(_logger, a.Text, _recorder.AnnotationsLost);
                }
            }
            foreach (ISessionObserver observer in _observers)
            {
                observer.Annotated(a, now);
            }
        }
        StationEventKind kind = notice.Kind switch
        {
            NoticeKind.ProtocolPhase => StationEventKind.ProtocolPhase,
            NoticeKind.CalibrationPrompt => StationEventKind.CalibrationPrompt,
            NoticeKind.CalibrationResult or NoticeKind.CalibrationDone => StationEventKind.CalibrationResult,
            NoticeKind.TargetSet => StationEventKind.TargetSet,
            NoticeKind.Marker => StationEventKind.Marker,
            _ => StationEventKind.Clinical,
        };
        if (notice.Kind == NoticeKind.Information && notice.Annotation is { Kind: ClinicalAnnotationKind.Trial or ClinicalAnnotationKind.Baseline or ClinicalAnnotationKind.CalibrationRest or ClinicalAnnotationKind.CalibrationMvc })
        {
            return; // a window's end is announced by the next phase's or the result's notice
        }
        _pipeline.Publish(new LiveEvent(0, kind, now, notice.Message)
        {
            Label = notice.Label,
            SampleIndex = _pipeline.ToSampleIndex(notice.Position),
            Clinical = notice,
        });
        if (notice.Kind == NoticeKind.CalibrationDone && notice.Result is { } result)
        {
            if (result.Ok && result.Accepted.Count > 0 && Current is { } session && _calibrations is not null)
            {
                // The patient's stored calibration with this step's muscles written over it: a step never loses the
                // muscles it did not calibrate. A damaged store is not overwritten (it stays for the clinician to see).
                try
                {
                    var merged = new Dictionary<string, MuscleCalibration>(_calibrations.Load(_station, session.PatientCode)?.Muscles ?? new Dictionary<string, MuscleCalibration>());
                    foreach ((string label, MuscleCalibration calibration) in result.Accepted)
                    {
                        merged[label] = calibration;
                    }
                    _calibrations.Save(_station, session.PatientCode, merged);
                }
                catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException && _logger is not null)
                {
                    CalibrationNotSaved(_logger!, e.Message);
                }
            }
            Interlocked.Exchange(ref _calibrationWaiter, null)?.TrySetResult(result);
        }
    }

    public StoppedSession Stop(long lostSamplesSoFar)
    {
        lock (_gate)
        {
            Session session = _current ?? throw new SessionStateException("No session is open.");
            DateTimeOffset now = _time.GetUtcNow();
            (SessionSummary? summary, ClinicalSession? ended, string? path) = _pipeline.RunAtNextSample(p =>
            {
                ClinicalSession? clinical = _pipeline.Clinical;
                clinical?.End(p.Position);
                clinical?.Flush();
                SessionSummary? s = clinical is null ? null : SessionAnalysis.Summarize(clinical, Info(session));
                p.SetClinical(null);
                string? recordingPath = _recorder?.Stop();
                foreach (ISessionObserver observer in _observers)
                {
                    observer.SessionEnded(session, p.SampleIndex);
                }
                return (s, clinical, recordingPath);
            }, ActionTimeout);
            Interlocked.Exchange(ref _calibrationWaiter, null)?.TrySetCanceled();
            string? summaryPath = null;
            if (summary is not null && path is not null)
            {
                summaryPath = SummaryPath(path);
                try
                {
                    WriteAtomically(summaryPath, SummaryJson.Write(summary));
                    WriteAtomically(ReportPath(path), Reports.SessionReport.Render(ended!, summary));
                }
                catch (IOException e) when (_logger is not null)
                {
                    SummaryNotWritten(_logger, summaryPath, e.Message);
                    summaryPath = null;
                }
            }
            var stopped = new StoppedSession(session, now, (long)((_pipeline.Latest?.Sequence ?? 0) - _firstFrame), lostSamplesSoFar - _lostAtStart, _markers,
                summary, path, summaryPath);
            _current = null;
            _last = stopped;
            if (_labelsBefore is not null)
            {
                _pipeline.SetLabels(_labelsBefore);
                _labelsBefore = null;
            }
            _pipeline.Publish(new LiveEvent(0, StationEventKind.SessionStopped, now, $"Session {session.SessionId} stopped"));
            foreach (ISessionObserver observer in _observers)
            {
                observer.SessionStopped(stopped);
            }
            if (_recorder is { AnnotationsLostInFile: > 0 } && _logger is not null)
            {
                AnnotationsLost(_logger, path, _recorder.AnnotationsLostInFile);
            }
            return stopped;
        }
    }

    /// <summary>The summary file beside a recording: "&lt;recording&gt;.summary.json".</summary>
    public static string SummaryPath(string recordingPath) => recordingPath + ".summary.json";

    /// <summary>The report file beside a recording: "&lt;recording&gt;.report.html".</summary>
    public static string ReportPath(string recordingPath) => recordingPath + ".report.html";

    private static void WriteAtomically(string path, string text)
    {
        using AtomicOutput output = AtomicOutput.Create(path);
        byte[] bytes = System.Text.Encoding.UTF8.GetBytes(text);
        output.Stream.Write(bytes);
        output.Commit();
    }

    private SessionInfo Info(Session session) =>
        new(session.SessionId, session.PatientCode, _station, _recorder?.CurrentStart ?? session.StartedAt, RecordingLayout.SourceWord(_pipeline.Latest?.Source ?? SourceKind.Unknown) is { Length: > 0 } w ? w : "board");

    /// <summary>The open session's summary so far.</summary>
    public SessionSummary Summary()
    {
        Session session = Current ?? throw new SessionStateException("No session is open.");
        return _pipeline.WithClinical(c => c is null
            ? throw new SessionStateException("The session has no signal yet: its clinical layer starts with the board's first samples.")
            : SessionAnalysis.Summarize(c, Info(session)));
    }

    public Marker AddMarker(string label)
    {
        ClinicalSession.CheckMarker(label, RecordingLayout.IsStationNote);
        lock (_gate)
        {
            if (_current is null)
            {
                throw new SessionStateException("No session is open: start one before adding markers.");
            }
            DateTimeOffset now = _time.GetUtcNow();
            if (_markers >= _options.MaxMarkersPerSession)
            {
                throw new SessionLimitException($"Marker \"{label}\" refused: session {_current.SessionId} already has {_markers} markers, the limit (Sessions:MaxMarkersPerSession).");
            }
            _markerTokens = Math.Min(_options.MarkerBurst, _markerTokens + (now - _markerRefilledAt).TotalSeconds * _options.MarkersPerSecond);
            _markerRefilledAt = now;
            if (_markerTokens < 1 - 1e-9) // tolerance: ten refills of 0.1 must make a whole marker
            {
                throw new SessionLimitException(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"Marker \"{label}\" refused: more than {_options.MarkersPerSecond} markers per second (bursts of {_options.MarkerBurst}; Sessions:MarkersPerSecond)."));
            }
            _markerTokens--;
            _markers++;
            string text = label.Trim();
            long index = _pipeline.RunAtNextSample(p =>
            {
                if (_pipeline.Clinical is { } clinical)
                {
                    clinical.Mark(text, p.Position);
                }
                else
                {
                    // No clinical layer yet (no signal): the marker still goes into the recording and onto the stream.
                    if (_recorder is not null && !_recorder.Mark(text) && _logger is not null)
                    {
                        AnnotationNotRecorded(_logger, text, _recorder.AnnotationsLost);
                    }
                    _pipeline.Publish(new LiveEvent(0, StationEventKind.Marker, now, $"Marker: {text}") { Label = text, SampleIndex = Math.Max(0, _pipeline.CurrentSampleIndex) });
                    var annotation = new ClinicalAnnotation(ClinicalAnnotationKind.Marker, 0, 0, text) { Label = text };
                    foreach (ISessionObserver observer in _observers)
                    {
                        observer.Annotated(annotation, now);
                    }
                }
                return p.SampleIndex >= 0 ? p.SampleIndex : Math.Max(0, _pipeline.CurrentSampleIndex);
            }, ActionTimeout);
            return new Marker(text, now, index);
        }
    }

    private ClinicalSession Clinical()
    {
        if (Current is null)
        {
            throw new SessionStateException("No session is open: start one first.");
        }
        return _pipeline.Clinical ?? throw new SessionStateException("The session has no signal yet: its clinical layer starts with the board's first samples.");
    }

    /// <summary>Sets (or, with null, clears) a muscle's target from the next sample on.</summary>
    public ClinicalAnnotation SetTarget(string label, TargetSpec? target)
    {
        Clinical();
        return _pipeline.RunAtNextSample(p => Clinical().SetTarget(label, target, p.Position), ActionTimeout);
    }

    /// <summary>
    /// Runs a guided calibration step to its end (seconds on sample time) and returns its result; the prompts go out on
    /// the event stream as it runs. A refused step leaves the earlier calibration in place.
    /// </summary>
    public async Task<CalibrationStepResult> CalibrateAsync(CalibrationStep step, string? label, CancellationToken cancellationToken)
    {
        Clinical();
        var waiter = new TaskCompletionSource<CalibrationStepResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (Interlocked.CompareExchange(ref _calibrationWaiter, waiter, null) is not null)
        {
            throw new SessionStateException("A calibration step is already running.");
        }
        try
        {
            _pipeline.RunAtNextSample(p =>
            {
                Clinical().StartCalibration(step, label, p.Position);
                return 0;
            }, ActionTimeout);
        }
        catch
        {
            Interlocked.CompareExchange(ref _calibrationWaiter, null, waiter);
            throw;
        }
        using CancellationTokenRegistration registration = cancellationToken.Register(() =>
        {
            // The caller went away: the step ends where it is (nothing from an unfinished window is used).
            try
            {
                Abort();
            }
            catch (SessionStateException)
            {
            }
        });
        try
        {
            return await waiter.Task;
        }
        catch (TaskCanceledException)
        {
            throw new SessionStateException("The session stopped during the calibration step.");
        }
    }

    /// <summary>The calibration stored for the open session's patient, offered for reuse; null when there is none.</summary>
    public StoredCalibration? StoredCalibration(string? patientCode = null)
    {
        string? patient = patientCode ?? Current?.PatientCode;
        return patient is null || _calibrations is null ? null : _calibrations.Load(_station, patient);
    }

    /// <summary>Applies the patient's stored calibration from the next sample on.</summary>
    public StoredCalibration ReuseCalibration()
    {
        Clinical();
        StoredCalibration stored = StoredCalibration() ?? throw new SessionStateException($"No stored calibration for patient {Current?.PatientCode} at station {_station}: calibrate first.");
        _pipeline.RunAtNextSample(p => Clinical().Reuse(stored.Muscles, p.Position), ActionTimeout);
        return stored;
    }

    public void StartProtocol(ProtocolTemplate template)
    {
        Clinical();
        _pipeline.RunAtNextSample(p =>
        {
            Clinical().StartProtocol(template, p.Position);
            return 0;
        }, ActionTimeout);
    }

    public void PauseProtocol() => _pipeline.RunAtNextSample(p =>
    {
        Clinical().Pause(p.Position);
        return 0;
    }, ActionTimeout);

    public void ResumeProtocol() => _pipeline.RunAtNextSample(p =>
    {
        Clinical().Resume(p.Position);
        return 0;
    }, ActionTimeout);

    /// <summary>Ends the running calibration step or protocol; what was done is kept.</summary>
    public void Abort() => _pipeline.RunAtNextSample(p =>
    {
        Clinical().Abort(p.Position);
        return 0;
    }, ActionTimeout);

    /// <summary>Records an outcome score for the open session.</summary>
    public void Outcome(string score, double value) => _pipeline.RunAtNextSample(p => Clinical().Outcome(score, value, p.Position), ActionTimeout);

    [LoggerMessage(301, LogLevel.Warning, "Annotation {Text} not recorded: no room left in its second of the recording ({Lost} annotations lost so far)")]
    private static partial void AnnotationNotRecorded(ILogger logger, string text, long lost);

    [LoggerMessage(302, LogLevel.Warning, "Recording {Path} closed with {Lost} annotations lost")]
    private static partial void AnnotationsLost(ILogger logger, string? path, long lost);

    [LoggerMessage(303, LogLevel.Error, "Calibration not saved: {Reason}; the previous stored calibration is unchanged")]
    private static partial void CalibrationNotSaved(ILogger logger, string reason);

    [LoggerMessage(304, LogLevel.Error, "Session summary {Path} not written: {Reason}")]
    private static partial void SummaryNotWritten(ILogger logger, string path, string reason);
}
