using System.Globalization;
using System.Text.RegularExpressions;

namespace EmgBiofeedback.Server.Tests;

/// <summary>
/// A scrape in Prometheus' text exposition format (or OpenMetrics text), read as Prometheus reads it: samples by name
/// and labels, and the # TYPE, # HELP and # UNIT lines of each metric family.
/// </summary>
public sealed partial class PrometheusText
{
    public sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

    public List<Sample> Samples { get; } = [];

    public Dictionary<string, string> Types { get; } = [];

    public Dictionary<string, string> Help { get; } = [];

    public Dictionary<string, string> Units { get; } = [];

    public string Text { get; }

    public PrometheusText(string text)
    {
        Text = text;
        foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (line.StartsWith('#'))
            {
                Match meta = MetaLine().Match(line);
                if (meta.Success)
                {
                    Dictionary<string, string> into = meta.Groups[1].Value switch { "TYPE" => Types, "HELP" => Help, _ => Units };
                    into[meta.Groups[2].Value] = meta.Groups[3].Value;
                }
                continue;
            }
            Match sample = SampleLine().Match(line);
            Assert.True(sample.Success, $"not a sample line: {line}");
            var labels = new Dictionary<string, string>();
            foreach (Match label in LabelPair().Matches(sample.Groups[2].Value))
            {
                labels[label.Groups[1].Value] = label.Groups[2].Value.Replace("\\\"", "\"").Replace("\\\\", "\\");
            }
            Samples.Add(new Sample(sample.Groups[1].Value, labels, Number(sample.Groups[3].Value)));
        }
    }

    /// <summary>A value or a bucket's bound ("le") as the format writes it.</summary>
    public static double Number(string text) => text switch
    {
        "+Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        "NaN" => double.NaN,
        _ => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture),
    };

    /// <summary>The samples called <paramref name="name"/>.</summary>
    public IEnumerable<Sample> Named(string name) => Samples.Where(s => s.Name == name);

    /// <summary>The one sample called <paramref name="name"/> (with the given label, if any).</summary>
    public double Value(string name, string? label = null, string? labelValue = null)
    {
        Sample[] matching = Named(name).Where(s => label is null || s.Labels.GetValueOrDefault(label) == labelValue).ToArray();
        Assert.True(matching.Length == 1, $"{matching.Length} samples {name}{(label is null ? "" : $"{{{label}=\"{labelValue}\"}}")} in the scrape:\n{Text}");
        return matching[0].Value;
    }

    /// <summary>Every histogram family: the name before _bucket, _sum and _count.</summary>
    public IEnumerable<string> Histograms => Types.Where(t => t.Value == "histogram").Select(t => t.Key);

    [GeneratedRegex(@"^# (TYPE|HELP|UNIT) (\S+) (.*)$")]
    private static partial Regex MetaLine();

    [GeneratedRegex(@"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$")]
    private static partial Regex SampleLine();

    [GeneratedRegex(@"([a-zA-Z_][a-zA-Z0-9_]*)=""((?:[^""\\]|\\.)*)""")]
    private static partial Regex LabelPair();
}
