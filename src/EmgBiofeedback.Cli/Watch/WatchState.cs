using EmgBiofeedback.Contracts.V1;

namespace EmgBiofeedback.Cli;

/// <summary>
/// What the streams have said so far, kept newest-only: the stream readers write it, the display takes a
/// <see cref="Snapshot"/> about ten times a second. Thread-safe.
/// </summary>
public sealed class WatchState(string url, TimeProvider time)
{
    private readonly Lock _gate = new();
    private WatchModel _model = new() { Url = url };

    /// <summary>Whether any activation frame has come since the last <see cref="Connecting"/>.</summary>
    public bool FrameSinceConnecting { get; private set; }

    public WatchModel Snapshot()
    {
        lock (_gate)
        {
            return _model with { Now = time.GetUtcNow() };
        }
    }

    public void Connecting()
    {
        lock (_gate)
        {
            FrameSinceConnecting = false;
            // A failure stays on screen until the streams are open again.
            _model = _model with { Link = _model.Link == WatchLink.Retrying ? WatchLink.Retrying : WatchLink.Connecting };
        }
    }

    /// <param name="problem">Why, for people.</param>
    /// <param name="accessRefused">The station refused the token (or its absence): retrying will not help until it is changed.</param>
    public void Failed(string problem, bool accessRefused = false)
    {
        lock (_gate)
        {
            _model = _model with { Link = WatchLink.Retrying, LinkProblem = problem, AccessRefused = accessRefused };
        }
    }

    public void OnFrame(ActivationFrame frame)
    {
        ArgumentNullException.ThrowIfNull(frame);
        lock (_gate)
        {
            FrameSinceConnecting = true;
            _model = _model with
            {
                Link = WatchLink.Streaming,
                LinkProblem = null,
                AccessRefused = false,
                Frame = frame,
                FrameAt = time.GetUtcNow(),
                MissedFrames = _model.MissedFrames + frame.MissedBefore,
            };
        }
    }

    public void OnStatus(Status status)
    {
        ArgumentNullException.ThrowIfNull(status);
        lock (_gate)
        {
            _model = _model with { Status = status, StatusAt = time.GetUtcNow() };
        }
    }

    public void OnEvent(Event e)
    {
        ArgumentNullException.ThrowIfNull(e);
        lock (_gate)
        {
            DateTimeOffset now = time.GetUtcNow();
            _model = e.Kind switch
            {
                EventKind.ProtocolPhase when e.Phase == Phase.Done => _model with { Prompt = null, LastEvent = Sentence(e, "protocol ended") },
                EventKind.ProtocolPhase or EventKind.CalibrationPrompt => _model with
                {
                    Prompt = new WatchPrompt(e.Kind, e.Phase, e.Instruction, e.Trial, e.Trials, e.SecondsLeft, now),
                },
                // A guided calibration step ended (or was aborted): its prompt no longer holds.
                EventKind.CalibrationResult when e.StepDone && _model.Prompt?.Kind == EventKind.CalibrationPrompt =>
                    _model with { Prompt = null, LastEvent = Sentence(e, "calibration step done") },
                // A new source or the end of the session: whatever was asked no longer holds.
                EventKind.SessionStopped or EventKind.SourceChanged => _model with { Prompt = null, LastEvent = Sentence(e, e.Kind.ToString()) },
                _ => _model with { LastEvent = Sentence(e, e.Kind.ToString()) },
            };
        }
    }

    private static string Sentence(Event e, string otherwise) => e.Message.Length > 0 ? e.Message : otherwise;
}
