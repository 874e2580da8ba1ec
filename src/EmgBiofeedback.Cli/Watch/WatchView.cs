using System.Globalization;
using System.Text;
using EmgBiofeedback.Contracts.V1;
using Spectre.Console;
using Spectre.Console.Rendering;
using Status = EmgBiofeedback.Contracts.V1.Status;

namespace EmgBiofeedback.Cli;

/// <summary>Where <c>emg watch</c> stands with the station.</summary>
public enum WatchLink
{
    /// <summary>Opening the streams (first attempt, or again after a failure).</summary>
    Connecting,

    /// <summary>The streams are open.</summary>
    Streaming,

    /// <summary>The last attempt failed; the next one comes after a back-off.</summary>
    Retrying,
}

/// <summary>
/// The latest protocol phase or calibration prompt: what the patient is asked to do, trial n of N, and how long it
/// lasts from <see cref="ReceivedAt"/> (the display counts down locally).
/// </summary>
public sealed record WatchPrompt(EventKind Kind, Phase Phase, string Instruction, uint Trial, uint Trials, double SecondsLeft, DateTimeOffset ReceivedAt);

/// <summary>Everything one screen of <c>emg watch</c> shows, at one instant (<see cref="Now"/>).</summary>
public sealed record WatchModel
{
    /// <summary>The station's gRPC address.</summary>
    public required string Url { get; init; }

    public WatchLink Link { get; init; }

    /// <summary>Why the last attempt failed (shown while retrying).</summary>
    public string? LinkProblem { get; init; }

    /// <summary>The last failure was the station refusing the token (Unauthenticated, PermissionDenied).</summary>
    public bool AccessRefused { get; init; }

    /// <summary>The latest GetStatus answer and when it came.</summary>
    public Status? Status { get; init; }

    public DateTimeOffset? StatusAt { get; init; }

    /// <summary>The newest activation frame and when it came (frames older than <see cref="WatchView.NoSignalAfter"/> are not shown as live).</summary>
    public ActivationFrame? Frame { get; init; }

    public DateTimeOffset? FrameAt { get; init; }

    /// <summary>Frames the station dropped for this viewer (sum of missed_before).</summary>
    public ulong MissedFrames { get; init; }

    public WatchPrompt? Prompt { get; init; }

    /// <summary>The latest other event's sentence (gap, disconnection, session, marker, ...).</summary>
    public string? LastEvent { get; init; }

    public DateTimeOffset Now { get; init; }
}

/// <summary>
/// The screen of <c>emg watch</c> as a pure function of a <see cref="WatchModel"/>: header (address, source kind,
/// link, session, loss counters), the current prompt with its countdown, and one row per muscle with a bar of %MVC,
/// the target state as a symbol and a word, and the signal quality. Nothing stale is shown as live.
/// </summary>
public static class WatchView
{
    /// <summary>A frame older than this is not shown: the rows say "no signal".</summary>
    public static readonly TimeSpan NoSignalAfter = TimeSpan.FromSeconds(1);

    /// <summary>A status older than this (it is asked every 2 s) is marked "last known".</summary>
    public static readonly TimeSpan StatusStaleAfter = TimeSpan.FromSeconds(5);

    /// <summary>Characters of a bar; 100 %MVC fills it.</summary>
    public const int BarWidth = 20;

    /// <summary>Full scale of the bar of a muscle that is not calibrated (no %MVC), µV.</summary>
    public const double UncalibratedFullScaleMicrovolts = 200;

    public static IRenderable Render(WatchModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        bool live = IsLive(model);
        var parts = new List<IRenderable> { Header(model) };
        if (Prompt(model) is { } prompt)
        {
            parts.Add(prompt);
        }
        parts.Add(Muscles(model, live));
        if (live && model.Frame!.Muscles.Any(m => m.Valid && !m.HasMvcPercent))
        {
            parts.Add(new Text(string.Create(CultureInfo.InvariantCulture,
                $"uncal.: not calibrated, no %MVC yet: the bar shows RMS µV, 0-{UncalibratedFullScaleMicrovolts:F0} µV"), new Style(Color.Grey)));
        }
        parts.Add(Footer(model, live));
        return new Rows(parts);
    }

    /// <summary>Whether the newest frame may be shown as the muscles' state now.</summary>
    public static bool IsLive(WatchModel model) =>
        model.Link == WatchLink.Streaming && model.Frame is not null && model.FrameAt is { } at && model.Now - at <= NoSignalAfter;

    private static IRenderable Header(WatchModel m)
    {
        var lines = new List<IRenderable>();
        SourceKind kind = m.Frame?.SourceKind ?? SourceKind.Unspecified;
        if (kind == SourceKind.Unspecified)
        {
            kind = m.Status?.SourceKind ?? SourceKind.Unspecified;
        }
        lines.Add(new Markup(kind switch
        {
            SourceKind.SimulatedBoard => "[black on yellow] SIMULATED [/] [yellow]the built-in simulated board: not a patient's signal[/]",
            SourceKind.Replay => "[black on yellow] REPLAY [/] [yellow]a recording played back: not a patient's live signal[/]",
            SourceKind.SerialBoard => "[black on green] PATIENT [/] serial board: live signal",
            _ => "[grey]source not known yet[/]",
        }));

        string station = Markup.Escape(Program.Printable(m.Url));
        lines.Add(new Markup(m.Link switch
        {
            WatchLink.Streaming => $"station [bold]{station}[/]: streaming",
            WatchLink.Retrying => $"station [bold]{station}[/]: [black on red] no connection — retrying [/]"
                + (m.LinkProblem is { Length: > 0 } p ? $" [red]{Markup.Escape(Program.Printable(p))}[/]" : ""),
            _ => $"station [bold]{station}[/]: connecting…",
        }));

        if (m.Status is { } s)
        {
            string board = s.Connected ? "board connected" : "[red]board link down[/]";
            // A status from before a failure is what was, not what is.
            bool stale = m.StatusAt is not { } seen || m.Now - seen > StatusStaleAfter;
            lines.Add(new Markup($"{(stale ? "[grey]last known:[/] " : "")}link {Markup.Escape(Program.Printable(s.Link))}, {board}"));
            lines.Add(new Markup(s.Session is { } session
                ? $"session {Markup.Escape(Program.Printable(session.SessionId))}, patient [bold]{Markup.Escape(Program.Printable(session.PatientCode))}[/]"
                  + (session.MontageName.Length > 0 ? $", montage {Markup.Escape(Program.Printable(session.MontageName))}" : "")
                : "no session open"));
            Counters c = s.Counters ?? new Counters();
            string age = m.StatusAt is { } at ? string.Create(CultureInfo.InvariantCulture, $" (status {(m.Now - at).TotalSeconds:F0} s old)") : "";
            lines.Add(new Text(string.Create(CultureInfo.InvariantCulture,
                $"losses: {c.LostFrames} frames lost in {c.Gaps} gaps, {c.CrcErrors} CRC errors, {c.MalformedFrames} malformed, "
                + $"{c.Resyncs} resyncs, {c.Reconnects} reconnects")));
            lines.Add(new Text(string.Create(CultureInfo.InvariantCulture,
                $"frames dropped for slow readers: {c.DroppedSubscriberFrames}, frames missed by this view: {m.MissedFrames}{age}")));
            if (s.NotProcessed.Length > 0)
            {
                lines.Add(new Markup($"[red]not processed: {Markup.Escape(Program.Printable(s.NotProcessed))}[/]"));
            }
        }
        else
        {
            lines.Add(new Markup("[grey]no status yet[/]"));
            lines.Add(new Text(string.Create(CultureInfo.InvariantCulture, $"frames missed by this view: {m.MissedFrames}")));
        }
        return new Rows(lines);
    }

    /// <summary>The prompt line, its countdown taken down by the time since it came; none after a protocol's end.</summary>
    private static Markup? Prompt(WatchModel m)
    {
        if (m.Prompt is not { } p || p.Phase == Phase.Done)
        {
            return null;
        }
        double left = Math.Max(0, p.SecondsLeft - (m.Now - p.ReceivedAt).TotalSeconds);
        string what = p.Kind == EventKind.CalibrationPrompt ? "calibration" : PhaseName(p.Phase);
        string trial = p.Trials > 0
            ? string.Create(CultureInfo.InvariantCulture, $", {(p.Kind == EventKind.CalibrationPrompt ? "contraction" : "trial")} {p.Trial} of {p.Trials}")
            : "";
        string instruction = p.Instruction.Length > 0 ? p.Instruction : what;
        return new Markup(string.Create(CultureInfo.InvariantCulture,
            $"[bold]▶ {Markup.Escape(Program.Printable(instruction))}[/] ({Markup.Escape(what)}{trial}): [bold]{Math.Ceiling(left):F0} s left[/]"));
    }

    private static string PhaseName(Phase phase) => phase switch
    {
        Phase.BaselinePre => "baseline before",
        Phase.Work => "work",
        Phase.Rest => "rest",
        Phase.BaselinePost => "baseline after",
        _ => "protocol",
    };

    private static Table Muscles(WatchModel m, bool live)
    {
        var table = new Table().Border(TableBorder.Rounded)
            .AddColumn("muscle")
            .AddColumn(new TableColumn("activation, 0-100 %MVC").NoWrap())
            .AddColumn(new TableColumn("value").RightAligned())
            .AddColumn("target")
            .AddColumn("quality");
        if (m.Frame is { } frame && frame.Muscles.Count > 0)
        {
            foreach (MuscleActivation muscle in frame.Muscles)
            {
                string label = Label(muscle.Label, muscle.Channel);
                if (live)
                {
                    AddLive(table, label, muscle);
                }
                else
                {
                    AddNoSignal(table, label);
                }
            }
        }
        else if (m.Status is { } s && s.Channels.Count > 0)
        {
            foreach (ChannelInfo channel in s.Channels)
            {
                AddNoSignal(table, Label(channel.Label, channel.Channel));
            }
        }
        else
        {
            AddNoSignal(table, "—");
        }
        return table;
    }

    private static string Label(string label, uint channel) =>
        label.Length > 0 ? Program.Printable(label) : string.Create(CultureInfo.InvariantCulture, $"ch {channel}");

    private static void AddNoSignal(Table table, string label) =>
        table.AddRow(new Text(label), new Markup("[grey]no signal[/]"), new Text("—"), new Text("—"), new Markup("[grey]no signal[/]"));

    private static void AddLive(Table table, string label, MuscleActivation muscle)
    {
        if (!muscle.Valid)
        {
            // Filters settling after start-up or a gap: not muscle activity, so no bar and no value.
            table.AddRow(new Text(label), new Text(new string('░', BarWidth), new Style(Color.Grey)), new Text("—"), new Text("—"),
                new Markup("[grey]settling[/]"));
            return;
        }
        IRenderable bar;
        IRenderable value;
        if (muscle.HasMvcPercent)
        {
            bar = new Text(Bar(muscle.MvcPercent / 100.0), new Style(TargetColour(muscle.Target)));
            value = new Text(string.Create(CultureInfo.InvariantCulture, $"{muscle.MvcPercent:F0} %MVC"));
        }
        else
        {
            bar = new Text(Bar(muscle.RmsMicrovolts / UncalibratedFullScaleMicrovolts), new Style(Color.Grey));
            value = new Text(string.Create(CultureInfo.InvariantCulture, $"{muscle.RmsMicrovolts:F1} µV uncal."));
        }
        table.AddRow(new Text(label), bar, value, Target(muscle.Target), Quality(muscle.Quality));
    }

    /// <summary>A bar of <see cref="BarWidth"/> characters, <paramref name="fraction"/> of it filled (clamped to 0-1).</summary>
    public static string Bar(double fraction)
    {
        int filled = double.IsFinite(fraction) ? (int)Math.Round(Math.Clamp(fraction, 0, 1) * BarWidth) : 0;
        return new string('█', filled) + new string('░', BarWidth - filled);
    }

    private static Color TargetColour(TargetState target) => target switch
    {
        TargetState.Inside => Color.Green,
        TargetState.Above or TargetState.Below => Color.Yellow,
        _ => Color.Blue,
    };

    /// <summary>The target state as a symbol and a word: never colour alone.</summary>
    public static string TargetText(TargetState target) => target switch
    {
        TargetState.Above => "▲ above",
        TargetState.Inside => "● inside",
        TargetState.Below => "▼ below",
        _ => "no target",
    };

    private static Text Target(TargetState target) =>
        new(TargetText(target), target == TargetState.Unspecified ? new Style(Color.Grey) : new Style(TargetColour(target), decoration: Decoration.Bold));

    /// <summary>The quality bits in words ("ok" when none is set).</summary>
    public static string QualityText(uint quality)
    {
        var words = new List<string>();
        if ((quality & (uint)QualityFlag.Flatline) != 0)
        {
            words.Add("electrode off");
        }
        if ((quality & (uint)QualityFlag.Clipping) != 0)
        {
            words.Add("clipping");
        }
        if ((quality & (uint)QualityFlag.Mains) != 0)
        {
            words.Add("mains");
        }
        if ((quality & (uint)QualityFlag.NoisyBaseline) != 0)
        {
            words.Add("noisy");
        }
        return words.Count == 0 ? "ok" : string.Join(", ", words);
    }

    private static Text Quality(uint quality)
    {
        Color colour = (quality & (uint)(QualityFlag.Flatline | QualityFlag.Clipping)) != 0 ? Color.Red
            : quality != 0 ? Color.Yellow : Color.Green;
        return new Text(QualityText(quality), new Style(colour));
    }

    private static IRenderable Footer(WatchModel m, bool live)
    {
        var b = new StringBuilder();
        if (!live && m.Link == WatchLink.Streaming)
        {
            b.Append(m.FrameAt is { } at
                ? string.Create(CultureInfo.InvariantCulture, $"no frame for {(m.Now - at).TotalSeconds:F1} s")
                : "waiting for the first frame");
        }
        if (m.LastEvent is { Length: > 0 } e)
        {
            if (b.Length > 0)
            {
                b.Append("; ");
            }
            b.Append("last event: ").Append(Program.Printable(e));
        }
        return new Text(b.ToString(), new Style(Color.Grey));
    }
}
