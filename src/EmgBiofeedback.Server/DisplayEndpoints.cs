using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace EmgBiofeedback.Server;

/// <summary>
/// The patient display (src/EmgBiofeedback.Display, built by the project's MSBuild target into the output folder
/// "display") at / and the clinician view (clinician.html) at /clinician: served on the browser port only (HTTP/1.1,
/// the same origin as gRPC-Web, so no CORS), never on the gRPC port. Files are read at run time through a PhysicalFileProvider, not as static web assets: a bundle written
/// during the build would be missed by static-web-asset discovery. The page needs no token to load (it asks for one when
/// a call is refused, see src/EmgBiofeedback.Display/src/auth.ts); its calls and the report do.
/// </summary>
public static partial class DisplayEndpoints
{
    public const string FolderName = "display";

    /// <summary>The built page: beside the service's assembly.</summary>
    public static string Folder => Path.Combine(AppContext.BaseDirectory, FolderName);

    public const string ClinicianPath = "/clinician";

    private const string ClinicianPage = "clinician.html";

    public static bool IsBuilt => File.Exists(Path.Combine(Folder, "index.html"));

    // The page's own code and the service only; inline scripts, other origins and framing are refused.
    private const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    // The clinician view with a token fetches the session report (a link cannot carry the Authorization header) and
    // shows it from a blob: URL, which inherits this page's policy: the report's one <style> is allowed by its hash.
    private static readonly string ClinicianContentSecurityPolicy =
        ContentSecurityPolicy.Replace("style-src 'self';", $"style-src 'self' {EmgBiofeedback.Reports.SessionReport.StyleCspSource};", StringComparison.Ordinal);

    public static WebApplication MapDisplay(this WebApplication app)
    {
        ApiOptions api = app.Services.GetRequiredService<IOptions<ApiOptions>>().Value;
        int browserPort = ApiOptionsValidator.TryParse(api.BrowserUrl, out System.Net.IPEndPoint? endpoint, out _) ? endpoint!.Port : -1;
        string folder = Folder;
        bool built = IsBuilt;
        app.UseWhen(
            context => (HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method)) && OnBrowserPort(context, browserPort),
            branch =>
            {
                // /clinician is the clinician view's page (a second Vite entry beside index.html).
                branch.Use((context, next) =>
                {
                    if (context.Request.Path.Equals(ClinicianPath, StringComparison.OrdinalIgnoreCase) ||
                        context.Request.Path.Equals(ClinicianPath + "/", StringComparison.OrdinalIgnoreCase))
                    {
                        context.Request.Path = "/" + ClinicianPage;
                    }
                    return next(context);
                });
                if (built)
                {
                    var files = new PhysicalFileProvider(folder);
                    branch.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files, DefaultFileNames = ["index.html"] });
                    branch.UseStaticFiles(new StaticFileOptions
                    {
                        FileProvider = files,
                        ContentTypeProvider = new FileExtensionContentTypeProvider(),
                        OnPrepareResponse = file =>
                        {
                            IHeaderDictionary headers = file.Context.Response.Headers;
                            headers.XContentTypeOptions = "nosniff";
                            if (file.File.Name.EndsWith(".html", StringComparison.Ordinal))
                            {
                                // The page names fingerprinted assets: always revalidate it, cache the assets for good.
                                headers.CacheControl = "no-cache";
                                headers.ContentSecurityPolicy = file.File.Name == ClinicianPage ? ClinicianContentSecurityPolicy : ContentSecurityPolicy;
                                headers["Referrer-Policy"] = "no-referrer";
                            }
                            else
                            {
                                headers.CacheControl = "public, max-age=31536000, immutable";
                            }
                        },
                    });
                }
                else
                {
                    branch.Use(async (context, next) =>
                    {
                        if (context.Request.Path == "/" || context.Request.Path == "/" + ClinicianPage)
                        {
                            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                            context.Response.ContentType = "text/plain; charset=utf-8";
                            await context.Response.WriteAsync($"The patient display was not built (no {Path.Combine(FolderName, "index.html")} beside the service). Build src/EmgBiofeedback.Server with Node.js 20.19 or later on PATH.");
                            return;
                        }
                        await next(context);
                    });
                }
            });
        return app;
    }

    /// <summary>Logs where the patient display is, or that it is missing (one line).</summary>
    public static void Announce(WebApplication app)
    {
        ApiOptions api = app.Services.GetRequiredService<IOptions<ApiOptions>>().Value;
        ILogger logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("EmgBiofeedback.Server");
        string url = api.BrowserUrl.TrimEnd('/') + "/";
        if (IsBuilt)
        {
            DisplayLog.PatientDisplay(logger, url);
            DisplayLog.ClinicianDisplay(logger, url.TrimEnd('/') + ClinicianPath);
        }
        else
        {
            DisplayLog.PatientDisplayMissing(logger, Folder);
        }
    }

    private static bool OnBrowserPort(HttpContext context, int browserPort) =>
        browserPort > 0 ? context.Connection.LocalPort == browserPort : context.Request.Protocol == "HTTP/1.1";
}

internal static partial class DisplayLog
{
    [LoggerMessage(40, LogLevel.Information, "Patient display on {Url}")]
    public static partial void PatientDisplay(ILogger logger, string url);

    [LoggerMessage(42, LogLevel.Information, "Clinician view on {Url}")]
    public static partial void ClinicianDisplay(ILogger logger, string url);

    [LoggerMessage(41, LogLevel.Warning, "Patient display not built (no index.html in {Folder}): build src/EmgBiofeedback.Server with Node.js 20.19 or later on PATH")]
    public static partial void PatientDisplayMissing(ILogger logger, string folder);
}
