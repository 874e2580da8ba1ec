using System.Diagnostics;
using System.Text.RegularExpressions;
using EmgBiofeedback.Sessions;

namespace EmgBiofeedback.Reports.Tests;

public class SessionReportTests
{
    private static readonly Lazy<(ClinicalSession Session, SessionSummary Summary, string Html)> SmallReport = new(() =>
    {
        var (session, summary) = TestSessions.Small();
        return (session, summary, SessionReport.Render(session, summary));
    });

    private static string Html => SmallReport.Value.Html;

    /// <summary>The cells of the table row whose first cell is <paramref name="first"/> (the first such row).</summary>
    private static string[] Row(string html, string first)
    {
        Match row = Regex.Match(html, "<tr><td>" + Regex.Escape(first) + "</td>(.*?)</tr>");
        Assert.True(row.Success, $"no row {first}");
        return Regex.Matches(row.Groups[1].Value, "<td[^>]*>(.*?)</td>").Select(m => m.Groups[1].Value).ToArray();
    }

    [Fact]
    public void The_session_is_as_built()
    {
        SessionSummary s = SmallReport.Value.Summary;
        Assert.Equal(200, s.Calibration["SCM L"].MvcMicrovolts, 9);
        Assert.False(s.Calibration.ContainsKey("UT R"));
        Assert.Equal([1, 2], s.Trials.Select(t => t.N));
    }

    [Fact]
    public void Header_names_the_session_by_its_pseudonymous_code()
    {
        Assert.Contains("<span class=\"k\">Session:</span> S0042", Html, StringComparison.Ordinal);
        Assert.Contains("<span class=\"k\">Patient code:</span> P-7F3A", Html, StringComparison.Ordinal);
        Assert.Contains("<span class=\"k\">Station:</span> bench-2", Html, StringComparison.Ordinal);
        Assert.Contains("<span class=\"k\">Date:</span> 2025-03-14 09:30 +01:00", Html, StringComparison.Ordinal);
        Assert.Contains("<span class=\"k\">Duration:</span> 1:25 min", Html, StringComparison.Ordinal);
        Assert.Contains("SCM L (ch 1), SCM R (ch 2), UT L (ch 3), UT R (ch 4)", Html, StringComparison.Ordinal);
        Assert.Contains("@page { size: A4; margin: 12mm; }", Html, StringComparison.Ordinal);
    }

    [Fact]
    public void One_inline_svg_plot_per_muscle_with_bands_target_and_marker()
    {
        Assert.Equal(4, Regex.Matches(Html, "<svg class=\"plot\"").Count);
        Assert.Equal(4, Regex.Matches(Html, "</svg>").Count);
        Assert.DoesNotContain("<?xml", Html, StringComparison.Ordinal);
        string first = Html[Html.IndexOf("<svg", StringComparison.Ordinal)..Html.IndexOf("</svg>", StringComparison.Ordinal)];
        foreach (string label in new[] { ">W1<", ">R1<", ">W2<", ">R2<", ">pre<", ">post<", ">target &lt; 20<", ">SCM L %MVC<" })
        {
            Assert.Contains(label, first, StringComparison.Ordinal);
        }
        Assert.Contains(">M1 &lt;script&gt;alert(1)&lt;/scrip…<", first, StringComparison.Ordinal);
        Assert.Contains(">UT R µV<", Html, StringComparison.Ordinal);
        Assert.Contains(">SCM R %MVC<", Html, StringComparison.Ordinal);
        Assert.Contains("<b>Not calibrated, plotted in µV</b> (not comparable across muscles or sessions): UT R.", Html, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_svg_id_is_unique_in_the_document_and_every_reference_resolves()
    {
        string[] ids = Regex.Matches(Html, "\\bid=\"([^\"]+)\"").Select(m => m.Groups[1].Value).ToArray();
        Assert.NotEmpty(ids);
        Assert.Equal(ids.Length, ids.Distinct(StringComparer.Ordinal).Count());
        string[] references = Regex.Matches(Html, @"url\(#([^)]+)\)").Select(m => m.Groups[1].Value).ToArray();
        Assert.NotEmpty(references);
        Assert.All(references, r => Assert.Contains(r, ids));
    }

    [Fact]
    public void Indices_table_has_calibration_work_rest_target_and_baselines()
    {
        Assert.Equal(["5.0", "200.0", "20.0", "25.0", "51%", "2.5", "2.5", "99%", "5.0", "4.0", "−20%"], Row(Html, "SCM L"));
        Assert.Equal(["5.0", "100.0", "12.5", "20.0", "–", "5.0", "5.0", "–", "5.0", "5.0", "0%"], Row(Html, "SCM R"));
        Assert.Equal(["–", "–", "–", "–", "–", "–", "–", "–", "–", "–", "–"], Row(Html, "UT R"));
    }

    [Fact]
    public void Trial_table_has_work_means_as_columns_and_asymmetry_per_trial()
    {
        Assert.Contains("<th></th><th>All</th><th>T1</th><th>T2</th>", Html, StringComparison.Ordinal);
        // The first "SCM L" row is the indices table; the trial table's row follows the "All" header.
        string trials = Html[Html.IndexOf("<th>All</th>", StringComparison.Ordinal)..];
        Assert.Equal(["20.0", "15.0", "25.0"], Row(trials, "SCM L"));
        Assert.Equal(["12.5", "20.0", "5.0"], Row(trials, "SCM R"));
        // (20 - 12.5) / (20 + 12.5) pooled, (15 - 20) / (15 + 20) in trial 1, (25 - 5) / (25 + 5) in trial 2.
        Assert.Equal(["+0.23", "−0.14", "+0.67"], Row(trials, "Asymmetry SCM"));
    }

    [Fact]
    public void Pairs_markers_outcomes_and_formulas()
    {
        // 2 x sum(min) / sum(a + b) over the work frames: trial 1 min(15, 20), trial 2 min(25, 5): 2 x 20 / 65.
        Assert.Contains("<div><span>SCM L/SCM R</span><span>0.62</span></div>", Html, StringComparison.Ordinal);
        Assert.Equal(["32"], Row(Html, "TWSTRS total"));
        // The marker at 40 s: 10 s before (30-40 s: 5 % baseline then 15 % work, 5 s each) vs after (40-50 s: 15 % then rest 2.5 %).
        string[] marker = Row(Html, "M1");
        Assert.Equal("0:40", marker[0]);
        Assert.Equal("&lt;script&gt;alert(1)&lt;/script&gt; sensory trick", marker[1]);
        Assert.Equal("10.0→8.8 −13%", marker[2]);
        Assert.Equal("–", marker[5]); // UT R: not calibrated
        Assert.Contains(System.Net.WebUtility.HtmlEncode(SessionSummary.AsymmetryFormula), Html, StringComparison.Ordinal);
        Assert.Contains(System.Net.WebUtility.HtmlEncode(SessionSummary.CoContractionFormula), Html, StringComparison.Ordinal);
    }

    [Fact]
    public void Self_contained_nothing_external_and_marker_text_escaped()
    {
        Assert.DoesNotContain("<script", Html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<link", Html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("@import", Html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotMatch(new Regex(@"\b(src|href)\s*=\s*[""']?[^""'>]*(https?:|//)", RegexOptions.IgnoreCase), Html);
        Assert.DoesNotMatch(new Regex(@"url\(\s*['""]?(https?:|//)", RegexOptions.IgnoreCase), Html);
        Assert.DoesNotContain("http", Html, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;", Html, StringComparison.Ordinal);
    }

    [Fact]
    public void One_style_element_whose_hash_is_the_published_CSP_source_and_no_style_attribute()
    {
        // The clinician view shows a report it fetched with its token from a blob: URL, which inherits the page's
        // Content-Security-Policy: the page's style-src lists StyleCspSource, so the report's style must hash to it and
        // nothing else may need inline style.
        MatchCollection styles = Regex.Matches(Html, "<style>(.*?)</style>", RegexOptions.Singleline);
        Assert.Single(styles);
        string hash = Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(styles[0].Groups[1].Value)));
        Assert.Equal($"'sha256-{hash}'", SessionReport.StyleCspSource);
        Assert.DoesNotMatch(new Regex(@"\sstyle\s*=", RegexOptions.IgnoreCase), Html);
        var (session, summary) = TestSessions.Small(marker: "a & b \"quoted\" <i>");
        Assert.DoesNotMatch(new Regex(@"\sstyle\s*=", RegexOptions.IgnoreCase), SessionReport.Render(session, summary));
    }

    [Fact]
    public void Every_text_from_the_session_is_escaped()
    {
        var (session, summary) = TestSessions.Small(marker: "a & b \"quoted\" <i>");
        summary = summary with { Info = summary.Info with { SessionId = "<b>S1</b>", Station = "st&1" } };
        string html = SessionReport.Render(session, summary);
        Assert.DoesNotContain("<b>S1", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<i>\"", html, StringComparison.Ordinal);
        Assert.Contains("&lt;b&gt;S1&lt;/b&gt;", html, StringComparison.Ordinal);
        Assert.Contains("st&amp;1", html, StringComparison.Ordinal);
        Assert.Contains("a &amp; b &quot;quoted&quot; &lt;i&gt;", html, StringComparison.Ordinal);
    }

    [Fact]
    public void A_long_session_with_8_muscles_is_downsampled_and_laid_out_in_two_columns()
    {
        var (session, summary) = TestSessions.Large(trials: 10, extraSeconds: 3600);
        string html = SessionReport.Render(session, summary);
        Assert.Equal(8, Regex.Matches(html, "<svg class=\"plot\"").Count);
        Assert.Contains("<section class=\"plots two\">", html, StringComparison.Ordinal);
        Assert.Contains("<th>T10</th>", html, StringComparison.Ordinal);
        Assert.True(session.Frames.Count > 180_000);
        // The curve of each plot: the path in the clip group drawn with the muscle's colour, at most 1500 points.
        foreach (Match svg in Regex.Matches(html, "<svg class=\"plot\".*?</svg>", RegexOptions.Singleline))
        {
            int points = Regex.Matches(svg.Value, "d=\"[^\"]*\"").Select(d => Regex.Matches(d.Value, "[ML]").Count).Max();
            Assert.InRange(points, 100, SessionReport.MaxPlotPoints);
        }
        Assert.True(html.Length < 1_500_000, $"{html.Length} characters");
    }

    [Fact]
    public void Min_max_downsampling_keeps_the_extremes_in_order_and_breaks_at_gaps()
    {
        int n = 100_000;
        double[] xs = Enumerable.Range(0, n).Select(i => (double)i).ToArray();
        double[] ys = xs.Select(x => Math.Sin(x / 1000)).ToArray();
        ys[12_345] = 7;
        ys[54_321] = -7;
        for (int i = 70_000; i < 70_100; i++)
        {
            ys[i] = double.NaN;
        }
        bool[] breaks = new bool[n];
        breaks[90_000] = true;
        (double[] ox, double[] oy) = SvgPlots.MinMax(xs, ys, breaks, 1500);
        Assert.InRange(ox.Length, 1000, 1500 + 4);
        Assert.Contains(7.0, oy);
        Assert.Contains(-7.0, oy);
        Assert.Equal(12_345, ox[Array.IndexOf(oy, 7.0)]);
        Assert.Equal(2, oy.Count(double.IsNaN));
        double[] finiteX = ox.Where((_, i) => !double.IsNaN(oy[i])).ToArray();
        Assert.Equal(finiteX.Order(), finiteX);
        Assert.False(double.IsNaN(oy[0]) || double.IsNaN(oy[^1]));
    }

    /// <summary>
    /// The promise of the layout: 8 muscles and 10 trials print on one A4 page. Checked by printing with headless
    /// Chromium where it is installed (Debian's chromium package); without it there is nothing to print with and the
    /// test has nothing to check.
    /// </summary>
    [Fact]
    public async Task Eight_muscles_and_ten_trials_print_on_exactly_one_A4_page()
    {
        string? chromium = new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome" }.FirstOrDefault(File.Exists);
        if (chromium is null)
        {
            return;
        }
        var (session, summary) = TestSessions.Large(trials: 10, extraSeconds: 600);
        string folder = Directory.CreateTempSubdirectory("emg-report-").FullName;
        string html = Path.Combine(folder, "report.html"), pdf = Path.Combine(folder, "report.pdf");
        await File.WriteAllTextAsync(html, SessionReport.Render(session, summary));
        var psi = new ProcessStartInfo(chromium) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string a in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer", $"--user-data-dir={Path.Combine(folder, "profile")}", $"--print-to-pdf={pdf}", new Uri(html).AbsoluteUri })
        {
            psi.ArgumentList.Add(a);
        }
        using Process p = Process.Start(psi)!;
        Task<string> err = p.StandardError.ReadToEndAsync(), output = p.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        try
        {
            await p.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw;
        }
        Assert.True(File.Exists(pdf), await err);
        string text = System.Text.Encoding.Latin1.GetString(await File.ReadAllBytesAsync(pdf));
        Assert.Single(Regex.Matches(text, @"/Type\s*/Page(?!s)"));
        Match box = Regex.Match(text, @"/MediaBox\s*\[\s*0\s+0\s+([0-9.]+)\s+([0-9.]+)\s*\]");
        Assert.True(box.Success);
        Assert.Equal(595, double.Parse(box.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), 0);
        Assert.Equal(842, double.Parse(box.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture), 0);
        Directory.Delete(folder, recursive: true);
    }
}
