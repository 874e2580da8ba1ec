using System.Text.RegularExpressions;
using EmgBiofeedback.Sessions;

namespace EmgBiofeedback.Reports.Tests;

public class TrendReportTests
{
    private static readonly DateTimeOffset March = new(2025, 3, 14, 9, 30, 0, TimeSpan.Zero);

    /// <summary>Three sessions of one patient, given out of date order, with different outcome scores.</summary>
    private static IReadOnlyList<(DateTimeOffset, string)> Sessions()
    {
        var (_, summary) = TestSessions.Small();
        (DateTimeOffset Date, string Id, double Twstrs, double? Tsui)[] sessions =
        [
            (March.AddDays(28), "S3", 30, 8),
            (March, "S1", 44, null),
            (March.AddDays(14), "S2", 38, 10),
        ];
        return sessions.Select(s =>
        {
            var outcomes = new Dictionary<string, double> { ["twstrs_total"] = s.Twstrs };
            if (s.Tsui is { } tsui)
            {
                outcomes["tsui"] = tsui;
            }
            SessionSummary each = summary with { Info = summary.Info with { SessionId = s.Id, Start = s.Date }, Outcomes = outcomes };
            return (s.Date, SummaryJson.Write(each));
        }).ToArray();
    }

    [Fact]
    public void Read_takes_the_indices_from_the_summary_json()
    {
        var (_, summary) = TestSessions.Small();
        TrendSession s = TrendReport.Read(SummaryJson.Write(summary));
        Assert.Equal("S0042", s.SessionId);
        Assert.Equal("P-7F3A", s.PatientCode);
        Assert.Equal(new DateTimeOffset(2025, 3, 14, 9, 30, 0, TimeSpan.FromHours(1)), s.Date);
        Assert.Equal(["SCM L", "SCM R", "UT L", "UT R"], s.Labels);
        Assert.Equal(20, s.WorkMean["SCM L"]!.Value, 9);
        Assert.Null(s.WorkMean["UT R"]);
        Assert.Equal(0.509, s.TimeInTarget["SCM L"]!.Value, 9); // trial 2 leaves the zone after the 0.2-s dwell
        Assert.Equal(7.5 / 32.5, s.Asymmetry["SCM"]!.Value, 9);
        Assert.Equal(-0.2, s.BaselineChange["SCM L"]!.Value, 9);
        Assert.Equal(32, s.Outcomes["twstrs_total"]);
    }

    [Fact]
    public void A_file_that_is_not_a_summary_is_refused_with_InvalidDataException()
    {
        Assert.Throws<InvalidDataException>(() => TrendReport.Read("{\"schema\":\"something-else/1\"}"));
        Assert.Throws<InvalidDataException>(() => TrendReport.Read("not json"));
        Assert.Throws<InvalidDataException>(() => TrendReport.Read("{\"schema\":\"emg-session-summary/1\"}"));
    }

    [Fact]
    public void The_html_table_is_in_date_order_with_the_outcome_scores()
    {
        string html = TrendReport.Render("P-7F3A", Sessions());
        int[] at = new[] { "2025-03-14", "2025-03-28", "2025-04-11" }.Select(d => html.IndexOf("<tr><td>" + d + "</td>", StringComparison.Ordinal)).ToArray();
        Assert.All(at, i => Assert.True(i > 0));
        Assert.Equal(at.Order(), at);
        Assert.Contains("<th rowspan=\"2\">TWSTRS total</th><th rowspan=\"2\">Tsui</th>", html, StringComparison.Ordinal);
        Assert.Matches("<tr><td>2025-03-14</td><td>S1</td><td>20.0</td><td>51%</td><td>−20%</td>.*<td>44</td><td>–</td></tr>", html);
        Assert.Matches("<tr><td>2025-03-28</td><td>S2</td>.*<td>38</td><td>10</td></tr>", html);
        Assert.Contains("3 sessions, 2025-03-14 to 2025-04-11", html, StringComparison.Ordinal);
        Assert.Contains("<th colspan=\"3\">UT L</th>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<th colspan=\"3\">UT R</th>", html, StringComparison.Ordinal); // never calibrated: no values, no column
        Assert.Equal(2, Regex.Matches(html, "<svg class=\"plot\"").Count);
        Assert.Contains(">Work mean %MVC per muscle<", html, StringComparison.Ordinal);
        Assert.Contains(">Outcome scores<", html, StringComparison.Ordinal);
        Assert.Contains(">TWSTRS total<", html, StringComparison.Ordinal); // the legend of the outcome plot
        Assert.DoesNotContain("http", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void The_text_table_is_in_date_order_with_the_outcome_scores()
    {
        string text = TrendReport.RenderText("P-7F3A", Sessions());
        string[] lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("Patient P-7F3A: 3 sessions", lines[0]);
        Assert.StartsWith("date", lines[1], StringComparison.Ordinal);
        Assert.EndsWith("twstrs_total  tsui", lines[1], StringComparison.Ordinal);
        Assert.Equal(["2025-03-14", "2025-03-28", "2025-04-11"], lines[2..].Select(l => l[..10]));
        Assert.Matches(@"^2025-03-14  S1\s+20\.0\s+51%\s+-20%.*\s44\s+-$", lines[2]);
        Assert.Matches(@"^2025-04-11  S3 .*\s30\s+8$", lines[4]);
        Assert.Equal(lines[1].Length, lines[2].Length);
    }

    [Fact]
    public void The_patient_code_is_escaped()
    {
        string html = TrendReport.Render("<x>", Sessions());
        Assert.DoesNotContain("<x>", html, StringComparison.Ordinal);
        Assert.Contains("patient &lt;x&gt;", html, StringComparison.Ordinal);
    }
}
