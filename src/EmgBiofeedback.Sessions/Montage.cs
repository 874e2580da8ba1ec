using System.Text.RegularExpressions;

namespace EmgBiofeedback.Sessions;

/// <summary>The body side an electrode sits on.</summary>
public enum Side
{
    Unspecified,
    Left,
    Right,
}

/// <summary>Which way a muscle turns the head when it contracts alone (axial rotation), relative to its own side.</summary>
public enum HeadRotation
{
    /// <summary>No rotation action the layer uses (or an unknown muscle).</summary>
    None,

    /// <summary>Turns the face toward its own side (splenius capitis; levator scapulae, weakly).</summary>
    SameSide,

    /// <summary>Turns the face toward the opposite side (sternocleidomastoid; upper trapezius, weakly).</summary>
    OppositeSide,
}

/// <summary>A neck or shoulder muscle the layer knows: its code in labels, its name, what it does (docs/clinical.md has the sources).</summary>
public sealed record Muscle(string Code, string Name, HeadRotation Rotation, string Actions)
{
    public static readonly Muscle Sternocleidomastoid = new("SCM", "sternocleidomastoid", HeadRotation.OppositeSide,
        "turns the head to the opposite side, tilts it to its own side; both together flex the neck");

    public static readonly Muscle UpperTrapezius = new("UT", "upper trapezius", HeadRotation.OppositeSide,
        "elevates the shoulder girdle; extends the head, tilts it to its own side, turns the face to the opposite side (SENIAM; disputed in cervical dystonia)");

    public static readonly Muscle SpleniusCapitis = new("SPL", "splenius capitis", HeadRotation.SameSide,
        "turns the head to its own side, tilts it to its own side; both together extend the head");

    public static readonly Muscle LevatorScapulae = new("LS", "levator scapulae", HeadRotation.SameSide,
        "elevates the scapula; tilts the neck to its own side, turns it weakly to its own side");

    /// <summary>The muscles whose actions the layer knows, by code.</summary>
    public static IReadOnlyList<Muscle> Known { get; } = [Sternocleidomastoid, UpperTrapezius, SpleniusCapitis, LevatorScapulae];

    /// <summary>The known muscle with this code (case-insensitive), or an unknown one without actions.</summary>
    public static Muscle Find(string code) =>
        Known.FirstOrDefault(m => string.Equals(m.Code, code, StringComparison.OrdinalIgnoreCase)) ?? new Muscle(code, code, HeadRotation.None, "");
}

/// <summary>
/// Channel labels, the one rule for the whole project: a montage entry is labelled "&lt;muscle&gt; L" / "&lt;muscle&gt; R" (or
/// the muscle alone without a side), a channel without one "CH&lt;n&gt;" (n from 1). Recordings keep the label after EDF+'s
/// "EMG " type, history tags muscle and side from it, displays show it.
/// </summary>
public static class ChannelLabels
{
    /// <summary>The longest label a recording keeps after its "EMG " prefix (EDF+ labels are 16 characters).</summary>
    public const int MaxLength = 12;

    /// <summary>The label of a channel that no montage names: "CH1" for channel 0.</summary>
    public static string Default(int channel) => $"CH{channel + 1}";

    public static string Format(string muscle, Side side) => side switch
    {
        Side.Left => $"{muscle} L",
        Side.Right => $"{muscle} R",
        _ => muscle,
    };

    /// <summary>Muscle and side from a label: "SCM L" -> (SCM, Left); "Trap right" -> (Trap, Right); "Splenius" -> (Splenius, Unspecified).</summary>
    public static (string Muscle, Side Side) Parse(string? label)
    {
        string trimmed = (label ?? "").Trim();
        int space = trimmed.LastIndexOf(' ');
        if (space > 0)
        {
            Side side = trimmed[(space + 1)..].ToUpperInvariant() switch
            {
                "L" or "LEFT" => Side.Left,
                "R" or "RIGHT" => Side.Right,
                _ => Side.Unspecified,
            };
            if (side != Side.Unspecified)
            {
                return (trimmed[..space].TrimEnd(), side);
            }
        }
        return (trimmed.Length == 0 ? "unknown" : trimmed, Side.Unspecified);
    }

    /// <summary>A label as a recording keeps it: the default when blank, cut to <see cref="MaxLength"/>, trimmed.</summary>
    public static string Recorded(string? label, int channel)
    {
        string l = string.IsNullOrWhiteSpace(label) ? Default(channel) : label.Trim();
        return (l.Length <= MaxLength ? l : l[..MaxLength]).Trim();
    }

    /// <summary>Labels for <paramref name="channels"/> channels: the montage's where it names one, the default elsewhere.</summary>
    public static string[] ForMontage(Montage montage, int channels)
    {
        var labels = new string[channels];
        for (int c = 0; c < channels; c++)
        {
            labels[c] = montage.ForChannel(c)?.Label ?? Default(c);
        }
        return labels;
    }

    public static string TagValue(Side side) => side switch
    {
        Side.Left => "left",
        Side.Right => "right",
        _ => "none",
    };
}

/// <summary>Which muscle a channel records.</summary>
public sealed record MontageEntry(int Channel, string Muscle, Side Side)
{
    /// <summary>The label displays, recordings and history use, e.g. "SCM L".</summary>
    public string Label => ChannelLabels.Format(Muscle, Side);

    /// <summary>What the layer knows of the muscle (an unknown code has no actions).</summary>
    public Muscle Info => Sessions.Muscle.Find(Muscle);

    /// <summary>The side the head turns to when this muscle contracts alone; Unspecified when it has no rotation action or no side.</summary>
    public Side TurnsHeadTo => (Info.Rotation, Side) switch
    {
        (HeadRotation.SameSide, Side.Left) or (HeadRotation.OppositeSide, Side.Right) => Side.Left,
        (HeadRotation.SameSide, Side.Right) or (HeadRotation.OppositeSide, Side.Left) => Side.Right,
        _ => Side.Unspecified,
    };
}

/// <summary>Two montage entries the indices compare.</summary>
public sealed record MusclePair(MontageEntry A, MontageEntry B)
{
    public string Key => $"{A.Label}/{B.Label}";
}

/// <summary>A request that breaks a rule; <see cref="Field"/> names the offending field.</summary>
public sealed class SessionRuleException(string field, string message) : Exception(message)
{
    public string Field { get; } = field;
}

/// <summary>
/// Which muscle each channel records, with what each muscle does, so the layer knows the left/right pairs (asymmetry)
/// and the pairs that turn the head to opposite sides (co-contraction in rotational torticollis).
/// </summary>
public sealed partial class Montage
{
    private Montage(string name, IReadOnlyList<MontageEntry> entries)
    {
        Name = name;
        Entries = entries;
    }

    /// <summary>"default", "extended" or "custom".</summary>
    public string Name { get; }

    /// <summary>The entries in channel order.</summary>
    public IReadOnlyList<MontageEntry> Entries { get; }

    /// <summary>Bilateral SCM and upper trapezius: 4 channels.</summary>
    public static Montage Default { get; } = new("default",
    [
        new(0, "SCM", Side.Left), new(1, "SCM", Side.Right), new(2, "UT", Side.Left), new(3, "UT", Side.Right),
    ]);

    /// <summary>The default plus splenius capitis and levator scapulae: 8 channels.</summary>
    public static Montage Extended { get; } = new("extended",
    [
        new(0, "SCM", Side.Left), new(1, "SCM", Side.Right), new(2, "UT", Side.Left), new(3, "UT", Side.Right),
        new(4, "SPL", Side.Left), new(5, "SPL", Side.Right), new(6, "LS", Side.Left), new(7, "LS", Side.Right),
    ]);

    public static IReadOnlyList<Montage> Presets { get; } = [Default, Extended];

    /// <summary>The preset with this name, or a <see cref="SessionRuleException"/> naming the ones there are.</summary>
    public static Montage Preset(string name) =>
        Presets.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new SessionRuleException("montage_preset", $"montage_preset \"{name}\" is not a preset; there are: {string.Join(", ", Presets.Select(p => p.Name))}.");

    /// <summary>
    /// A custom montage, validated: every channel exists (<paramref name="boardChannels"/>; 0 = not known yet) and
    /// appears once, every muscle is 1-10 letters or digits, every label is unique and fits a recording.
    /// </summary>
    public static Montage Create(IEnumerable<MontageEntry> entries, int boardChannels = 0, string name = "custom")
    {
        var list = entries.OrderBy(e => e.Channel).ToArray();
        var channels = new HashSet<int>();
        var labels = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (MontageEntry entry in list)
        {
            if (entry.Channel < 0 || (boardChannels > 0 && entry.Channel >= boardChannels))
            {
                throw new SessionRuleException("montage.channel", $"montage.channel {entry.Channel} does not exist (the board has {boardChannels} channels, numbered from 0).");
            }
            if (!channels.Add(entry.Channel))
            {
                throw new SessionRuleException("montage.channel", $"montage.channel {entry.Channel} appears twice.");
            }
            if (!MusclePattern().IsMatch(entry.Muscle ?? ""))
            {
                throw new SessionRuleException("montage.muscle", $"montage.muscle \"{entry.Muscle}\" (channel {entry.Channel}) must be 1-10 letters or digits (e.g. SCM, UT, SPL, LS).");
            }
            if (!Enum.IsDefined(entry.Side))
            {
                throw new SessionRuleException("montage.side", $"montage.side of channel {entry.Channel} is not a side.");
            }
            if (!labels.Add(entry.Label))
            {
                throw new SessionRuleException("montage.muscle", $"montage: \"{entry.Label}\" appears twice (channel {entry.Channel}); each muscle and side once.");
            }
        }
        return new Montage(name, list);
    }

    /// <summary>This montage checked against a board: every channel must exist on it.</summary>
    public Montage On(int boardChannels) => Create(Entries, boardChannels, Name);

    public MontageEntry? ForChannel(int channel) => Entries.FirstOrDefault(e => e.Channel == channel);

    public MontageEntry? ForLabel(string label) => Entries.FirstOrDefault(e => string.Equals(e.Label, label, StringComparison.OrdinalIgnoreCase));

    /// <summary>The montage a recording's labels describe: every label that parses as "&lt;muscle&gt; L/R" or names a muscle.</summary>
    public static Montage FromLabels(IReadOnlyList<string> labels)
    {
        var entries = new List<MontageEntry>();
        for (int c = 0; c < labels.Count; c++)
        {
            (string muscle, Side side) = ChannelLabels.Parse(labels[c]);
            if (!string.IsNullOrWhiteSpace(labels[c]) && MusclePattern().IsMatch(muscle) && labels[c].Trim() != ChannelLabels.Default(c) && entries.All(e => e.Label != ChannelLabels.Format(muscle, side)))
            {
                entries.Add(new MontageEntry(c, muscle, side));
            }
        }
        return new Montage("recorded", entries);
    }

    /// <summary>Left and right of the same muscle, for the asymmetry index: (left, right) per muscle.</summary>
    public IReadOnlyList<MusclePair> BilateralPairs =>
        Entries.Where(e => e.Side == Side.Left)
            .Select(l => (l, r: Entries.FirstOrDefault(e => e.Side == Side.Right && string.Equals(e.Muscle, l.Muscle, StringComparison.OrdinalIgnoreCase))))
            .Where(p => p.r is not null)
            .Select(p => new MusclePair(p.l, p.r!))
            .ToArray();

    /// <summary>
    /// Pairs that turn the head to opposite sides (agonist and antagonist of axial rotation), for the co-contraction
    /// index: the same muscle left and right, and, on one side, two muscles rotating to opposite sides (e.g. SCM R,
    /// which turns the head left, and SPL R, which turns it right). In channel order within each pair.
    /// </summary>
    public IReadOnlyList<MusclePair> AntagonistPairs
    {
        get
        {
            var pairs = new List<MusclePair>();
            for (int i = 0; i < Entries.Count; i++)
            {
                for (int j = i + 1; j < Entries.Count; j++)
                {
                    MontageEntry a = Entries[i], b = Entries[j];
                    bool opposite = a.TurnsHeadTo != Side.Unspecified && b.TurnsHeadTo != Side.Unspecified && a.TurnsHeadTo != b.TurnsHeadTo;
                    bool sameMuscle = string.Equals(a.Muscle, b.Muscle, StringComparison.OrdinalIgnoreCase);
                    if (opposite && (sameMuscle || a.Side == b.Side))
                    {
                        pairs.Add(new MusclePair(a, b));
                    }
                }
            }
            return pairs;
        }
    }

    [GeneratedRegex(@"^[A-Za-z0-9]{1,10}\z")]
    private static partial Regex MusclePattern();
}
