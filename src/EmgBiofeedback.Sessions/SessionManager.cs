using System.ComponentModel.DataAnnotations;
using System.Text.RegularExpressions;
using EmgBiofeedback.Acquisition;
using EmgBiofeedback.Pipeline;
using Microsoft.Extensions.Options;

namespace EmgBiofeedback.Sessions;

public enum Side
{
    Unspecified,
    Left,
    Right,
}

/// <summary>Which muscle a channel records.</summary>
public sealed record MontageEntry(int Channel, string Muscle, Side Side)
{
    /// <summary>The label displays show, e.g. "SCM L".</summary>
    public string Label => Side switch
    {
        Side.Left => $"{Muscle} L",
        Side.Right => $"{Muscle} R",
        _ => Muscle,
    };
}

public sealed record Session(string SessionId, string PatientCode, DateTimeOffset StartedAt, IReadOnlyList<MontageEntry> Montage);

public sealed record Marker(string Label, DateTimeOffset Time, long SampleIndex);

public sealed record SessionSummary(Session Session, DateTimeOffset StoppedAt, long ActivationFrames, long LostSamples, int Markers);

/// <summary>Told of session changes: the recorder starts and stops files, history tags its points.</summary>
public interface ISessionObserver
{
    void SessionStarted(Session session, IReadOnlyList<string> labels);
    void SessionStopped(SessionSummary summary);
    void MarkerAdded(Marker marker);
}

/// <summary>A request that breaks a rule; <see cref="Field"/> names the offending field.</summary>
public sealed class SessionRuleException(string field, string message) : Exception(message)
{
    public string Field { get; } = field;
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
}

[OptionsValidator]
public sealed partial class SessionOptionsValidator : IValidateOptions<SessionOptions>;

/// <summary>A request refused by a limit (gRPC ResourceExhausted); nothing was recorded.</summary>
public sealed class SessionLimitException(string message) : Exception(message);

/// <summary>A request that cannot be served in the current state (no session, or one already open).</summary>
public sealed class SessionStateException(string message) : Exception(message);

/// <summary>
/// One session at a time per station: who (a pseudonymous code, never a name), which montage, and the
/// markers set during it. Starting and stopping, and every marker, are published as events.
/// </summary>
public sealed partial class SessionManager(LivePipeline pipeline, TimeProvider time, IEnumerable<ISessionObserver> observers, IOptions<SessionOptions>? options = null)
{
    private readonly SessionOptions _options = options?.Value ?? new SessionOptions();
    private double _markerTokens;
    private DateTimeOffset _markerRefilledAt;
    private readonly Lock _gate = new();
    private Session? _current;
    private IReadOnlyList<string>? _labelsBefore;
    private ulong _firstFrame;
    private long _lostAtStart;
    private int _markers;

    public Session? Current
    {
        get { lock (_gate) { return _current; } }
    }

    /// <param name="lostSamplesSoFar">The acquisition's lost-sample count now, to report the session's own losses.</param>
    public Session Start(string patientCode, IReadOnlyList<MontageEntry> montage, long lostSamplesSoFar)
    {
        if (!PatientCodePattern().IsMatch(patientCode ?? ""))
        {
            throw new SessionRuleException("patient_code", "patient_code must be 1-32 letters, digits, '-' or '_' (a pseudonymous code, never a name).");
        }
        ValidateMontage(montage);
        lock (_gate)
        {
            if (_current is not null)
            {
                throw new SessionStateException($"Session {_current.SessionId} is already open; stop it first.");
            }
            DateTimeOffset now = time.GetUtcNow();
            var session = new Session($"{now:yyyyMMdd-HHmmss}-{patientCode}", patientCode!, now, montage);
            _current = session;
            _firstFrame = pipeline.Latest?.Sequence ?? 0;
            _lostAtStart = lostSamplesSoFar;
            _markers = 0;
            _markerTokens = _options.MarkerBurst;
            _markerRefilledAt = now;
            if (montage.Count > 0)
            {
                _labelsBefore = pipeline.Labels;
                pipeline.SetLabels(Labels(montage, Math.Max(pipeline.ChannelCount, montage.Max(m => m.Channel) + 1)));
            }
            pipeline.Publish(new LiveEvent(0, StationEventKind.SessionStarted, now, $"Session {session.SessionId} started"));
            foreach (ISessionObserver observer in observers)
            {
                observer.SessionStarted(session, pipeline.Labels);
            }
            return session;
        }
    }

    public SessionSummary Stop(long lostSamplesSoFar)
    {
        lock (_gate)
        {
            Session session = _current ?? throw new SessionStateException("No session is open.");
            DateTimeOffset now = time.GetUtcNow();
            var summary = new SessionSummary(session, now, (long)((pipeline.Latest?.Sequence ?? 0) - _firstFrame), lostSamplesSoFar - _lostAtStart, _markers);
            _current = null;
            if (_labelsBefore is not null)
            {
                pipeline.SetLabels(_labelsBefore);
                _labelsBefore = null;
            }
            pipeline.Publish(new LiveEvent(0, StationEventKind.SessionStopped, now, $"Session {session.SessionId} stopped"));
            foreach (ISessionObserver observer in observers)
            {
                observer.SessionStopped(summary);
            }
            return summary;
        }
    }

    public Marker AddMarker(string label)
    {
        if (string.IsNullOrWhiteSpace(label) || label.Length > 64 || label.Any(char.IsControl))
        {
            throw new SessionRuleException("label", "label must be 1-64 printable characters.");
        }
        lock (_gate)
        {
            if (_current is null)
            {
                throw new SessionStateException("No session is open: start one before adding markers.");
            }
            DateTimeOffset now = time.GetUtcNow();
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
            var marker = new Marker(label, now, Math.Max(0, pipeline.CurrentSampleIndex));
            _markers++;
            pipeline.Publish(new LiveEvent(0, StationEventKind.Marker, marker.Time, $"Marker: {label}") { Label = label, SampleIndex = marker.SampleIndex });
            foreach (ISessionObserver observer in observers)
            {
                observer.MarkerAdded(marker);
            }
            return marker;
        }
    }

    private void ValidateMontage(IReadOnlyList<MontageEntry> montage)
    {
        int channels = pipeline.ChannelCount;
        var seen = new HashSet<int>();
        foreach (MontageEntry entry in montage)
        {
            if (entry.Channel < 0 || (channels > 0 && entry.Channel >= channels))
            {
                throw new SessionRuleException("montage.channel", $"montage.channel {entry.Channel} does not exist (the board has {channels} channels, numbered from 0).");
            }
            if (!seen.Add(entry.Channel))
            {
                throw new SessionRuleException("montage.channel", $"montage.channel {entry.Channel} appears twice.");
            }
            if (!MusclePattern().IsMatch(entry.Muscle ?? ""))
            {
                throw new SessionRuleException("montage.muscle", "montage.muscle must be 1-12 letters or digits (e.g. SCM, UT, SPL, LS).");
            }
        }
    }

    private static string[] Labels(IReadOnlyList<MontageEntry> montage, int channels)
    {
        var labels = Enumerable.Range(0, channels).Select(c => $"CH{c + 1}").ToArray();
        foreach (MontageEntry entry in montage)
        {
            labels[entry.Channel] = entry.Label;
        }
        return labels;
    }

    // \z, not $: "$" also matches before a final newline, and "P01\n" would become a second patient.
    [GeneratedRegex(@"^[A-Za-z0-9_-]{1,32}\z")]
    private static partial Regex PatientCodePattern();

    [GeneratedRegex(@"^[A-Za-z0-9]{1,12}\z")]
    private static partial Regex MusclePattern();
}
