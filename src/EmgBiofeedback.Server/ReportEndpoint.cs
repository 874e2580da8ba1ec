using EmgBiofeedback.Recording;

namespace EmgBiofeedback.Server;

/// <summary>
/// GET /sessions/{sessionId}/report: the printable one-page report of a recorded session (self-contained HTML, inline
/// SVG), as written beside its recording. Same authorisation as the API (viewer or clinician); the id is matched
/// against the recordings folder's summaries only, so no path can be reached through it.
/// </summary>
public static class ReportEndpoint
{
    public static string UrlFor(string sessionId) => $"/sessions/{Uri.EscapeDataString(sessionId)}/report";

    public static WebApplication MapReports(this WebApplication app)
    {
        app.MapGet("/sessions/{sessionId}/report", (string sessionId, RecordingsFolder folder) =>
        {
            if (sessionId.Length is 0 or > 64 || !sessionId.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            {
                return Results.BadRequest("Not a session id.");
            }
            string? report = Directory.Exists(folder.Root)
                ? Directory.EnumerateFiles(folder.Root, "*.report.html", SearchOption.AllDirectories)
                    .FirstOrDefault(f => Path.GetFileName(f).Contains(sessionId, StringComparison.Ordinal))
                : null;
            return report is null ? Results.NotFound($"No report for session {sessionId}.") : Results.File(report, "text/html; charset=utf-8");
        }).RequireAuthorization(ApiRoles.ViewPolicy);
        return app;
    }
}
