using System.Globalization;
using System.Text.RegularExpressions;
using ScottPlot;

namespace EmgBiofeedback.Reports;

/// <summary>
/// What both reports share: the Okabe–Ito palette, HTML escaping and number formats, downsampling for plots, and
/// ScottPlot's SVG made fit to sit inline in one HTML document (ids made unique per plot, a viewBox so CSS can size it,
/// generic font fallbacks).
/// </summary>
internal static partial class SvgPlots
{
    /// <summary>Okabe & Ito's colour-blind-safe palette, in the order the reports use it for muscles (yellow last: faint on white paper).</summary>
    public static readonly string[] Palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"];

    /// <summary>Line patterns cycled with the palette so that muscles are told apart without colour too.</summary>
    public static readonly LinePattern[] Patterns = [LinePattern.Solid, LinePattern.Dashed, LinePattern.Dotted, LinePattern.DenselyDashed];

    /// <summary>Marker shapes cycled with the palette (trend plots).</summary>
    public static readonly MarkerShape[] Shapes =
        [MarkerShape.FilledCircle, MarkerShape.FilledSquare, MarkerShape.FilledTriangleUp, MarkerShape.FilledDiamond,
         MarkerShape.OpenCircle, MarkerShape.OpenSquare, MarkerShape.OpenTriangleUp, MarkerShape.OpenDiamond];

    public static Color Colour(int i) => Color.FromHex(Palette[((i % Palette.Length) + Palette.Length) % Palette.Length]);

    public static string Html(string? text) => System.Net.WebUtility.HtmlEncode(text ?? "");

    public static string F(double? v, string format, string none = "–") =>
        v is { } x && double.IsFinite(x) ? x.ToString(format, CultureInfo.InvariantCulture) : none;

    /// <summary>A share (0-1) as a whole percent.</summary>
    public static string Share(double? v) => v is { } x && double.IsFinite(x) ? (100 * x).ToString("0", CultureInfo.InvariantCulture) + "%" : "–";

    /// <summary>A relative change (after / before − 1) as a signed percent.</summary>
    public static string Change(double? v) => v is { } x && double.IsFinite(x) ? (100 * x).ToString("+0;−0;0", CultureInfo.InvariantCulture) + "%" : "–";

    /// <summary>A signed index (asymmetry).</summary>
    public static string Signed(double? v) => v is { } x && double.IsFinite(x) ? x.ToString("+0.00;−0.00;0.00", CultureInfo.InvariantCulture) : "–";

    /// <summary>A plot with the reports' small print style: small fonts, light grid, sans-serif.</summary>
    public static Plot NewPlot()
    {
        var plot = new Plot();
        plot.Font.Set("DejaVu Sans");
        plot.Axes.Bottom.TickLabelStyle.FontSize = 9;
        plot.Axes.Left.TickLabelStyle.FontSize = 9;
        plot.Axes.Bottom.Label.FontSize = 9;
        plot.Axes.Left.Label.FontSize = 9;
        plot.Axes.Title.Label.FontSize = 10;
        plot.Axes.Bottom.Label.Bold = false;
        plot.Axes.Left.Label.Bold = false;
        plot.Axes.Title.Label.Bold = true;
        return plot;
    }

    /// <summary>
    /// The plot as an SVG element for inline use: no XML declaration, every id prefixed with <paramref name="id"/> (SVG
    /// ids are global to the HTML document: two plots' clip paths would otherwise clash), a viewBox so that CSS sizes
    /// it, generic fallbacks after the font it was measured with, and a text alternative.
    /// </summary>
    public static string Inline(Plot plot, int width, int height, string id, string title)
    {
        string svg = plot.GetSvgXml(width, height);
        int start = svg.IndexOf("<svg", StringComparison.Ordinal);
        svg = start >= 0 ? svg[start..] : svg;
        svg = IdPattern().Replace(svg, m => $"id=\"{id}-{m.Groups[1].Value}\"");
        svg = UrlPattern().Replace(svg, m => $"url(#{id}-{m.Groups[1].Value})");
        svg = HrefPattern().Replace(svg, m => $"{m.Groups[1].Value}=\"#{id}-{m.Groups[2].Value}\"");
        svg = FontPattern().Replace(svg, m => $"font-family=\"{m.Groups[1].Value}, Arial, Helvetica, sans-serif\"");
        string root = string.Create(CultureInfo.InvariantCulture,
            $"<svg class=\"plot\" role=\"img\" aria-label=\"{Html(title)}\" viewBox=\"0 0 {width} {height}\" preserveAspectRatio=\"xMidYMid meet\"");
        svg = RootPattern().Replace(svg, root, 1);
        svg = TextPattern().Replace(svg, m => $">{m.Groups[1].Value}</text>");
        svg = IndentPattern().Replace(svg, "\n");
        return svg.Trim();
    }

    /// <summary>
    /// Downsamples a series for a plot: at most two points (the minimum and the maximum, in time order) per bucket of
    /// frames, so peaks survive; NaN values break the line (a NaN is emitted once at each break).
    /// </summary>
    public static (double[] Xs, double[] Ys) MinMax(IReadOnlyList<double> xs, IReadOnlyList<double> ys, IReadOnlyList<bool> breakBefore, int maxPoints)
    {
        int n = xs.Count;
        int bucket = Math.Max(1, (int)Math.Ceiling(n / Math.Max(1.0, maxPoints / 2.0)));
        var ox = new List<double>(Math.Min(n, maxPoints + 16));
        var oy = new List<double>(ox.Capacity);
        int minAt = -1, maxAt = -1;
        void FlushRun()
        {
            if (minAt < 0)
            {
                return;
            }
            int a = Math.Min(minAt, maxAt), b = Math.Max(minAt, maxAt);
            ox.Add(xs[a]);
            oy.Add(ys[a]);
            if (b != a)
            {
                ox.Add(xs[b]);
                oy.Add(ys[b]);
            }
            minAt = maxAt = -1;
        }
        void Break()
        {
            FlushRun();
            if (oy.Count > 0 && !double.IsNaN(oy[^1]))
            {
                ox.Add(ox[^1]);
                oy.Add(double.NaN);
            }
        }
        for (int i = 0; i < n; i++)
        {
            if (i % bucket == 0)
            {
                FlushRun();
            }
            if (breakBefore[i])
            {
                Break();
            }
            double y = ys[i];
            if (!double.IsFinite(y))
            {
                Break();
                continue;
            }
            if (minAt < 0)
            {
                minAt = maxAt = i;
                continue;
            }
            if (y < ys[minAt])
            {
                minAt = i;
            }
            if (y > ys[maxAt])
            {
                maxAt = i;
            }
        }
        FlushRun();
        while (oy.Count > 0 && double.IsNaN(oy[^1]))
        {
            ox.RemoveAt(ox.Count - 1);
            oy.RemoveAt(oy.Count - 1);
        }
        return (ox.ToArray(), oy.ToArray());
    }

    [GeneratedRegex("\\bid=\"([^\"]+)\"")]
    private static partial Regex IdPattern();

    [GeneratedRegex(@"url\(#([^)]+)\)")]
    private static partial Regex UrlPattern();

    [GeneratedRegex("\\b((?:xlink:)?href)=\"#([^\"]+)\"")]
    private static partial Regex HrefPattern();

    [GeneratedRegex("font-family=\"([^\"]*)\"")]
    private static partial Regex FontPattern();

    [GeneratedRegex(@">\s+([^<]*?)\s+</text>")]
    private static partial Regex TextPattern();

    [GeneratedRegex(@"\n[ \t]+")]
    private static partial Regex IndentPattern();

    [GeneratedRegex("<svg\\b[^>]*?(?=\\s*>)")]
    private static partial Regex RootPattern();
}
