using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace EmgBiofeedback.Server;

/// <summary>Configuration section "Metrics": the Prometheus scrape endpoint.</summary>
public sealed class MetricsOptions
{
    public const string SectionName = "Metrics";

    /// <summary>
    /// The scrape endpoint <see cref="MetricsEndpoint.Path"/> on the browser port. Empty (the default): on while the
    /// browser port is on this machine only, and when it leaves the machine only if tokens are configured (a scrape then
    /// needs one); true: on; false: off.
    /// </summary>
    public bool? Prometheus { get; set; }
}

/// <summary>Who may scrape the station's metrics.</summary>
public enum PrometheusAccess
{
    Off,

    /// <summary>Any process on this machine, as for the API on loopback.</summary>
    ThisMachine,

    /// <summary>A viewer's or a clinician's bearer token, as for the API.</summary>
    Token,
}

/// <summary>A scrape endpoint that would hand the station's counters to anyone on the network stops start-up.</summary>
internal sealed class MetricsOptionsValidator(IOptions<ApiOptions> api) : IValidateOptions<MetricsOptions>
{
    public ValidateOptionsResult Validate(string? name, MetricsOptions options) =>
        options.Prometheus == true && MetricsEndpoint.Decide(new MetricsOptions(), api.Value) == PrometheusAccess.Off
            ? ValidateOptionsResult.Fail(
                $"Metrics:Prometheus is true but the API is reachable from other machines (Api:BrowserUrl '{api.Value.BrowserUrl}', Api:GrpcUrl '{api.Value.GrpcUrl}') " +
                "and Api:ViewerTokens and Api:ClinicianTokens hold no token: anyone on the network could read the station's metrics. " +
                "Add a token (the scraper sends it as 'Authorization: Bearer ...') or set Metrics:Prometheus to false.")
            : ValidateOptionsResult.Success;
}

/// <summary>
/// The station's metrics (meter <see cref="StationMetrics.MeterName"/>, and every instrument another part of the host
/// records on that meter) through OpenTelemetry, with a Prometheus scrape endpoint at <see cref="Path"/> on the browser
/// port only (HTTP/1.1, where Prometheus scrapes; never on the gRPC port), authorised like the API's viewers.
/// </summary>
public static partial class MetricsEndpoint
{
    public const string Path = "/metrics";

    public static WebApplicationBuilder AddStationMetrics(this WebApplicationBuilder builder)
    {
        IServiceCollection services = builder.Services;
        services.AddOptions<MetricsOptions>().Bind(builder.Configuration.GetSection(MetricsOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<MetricsOptions>, MetricsOptionsValidator>();
        services.AddSingleton<StationMetrics>();
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("emgbiofeedback", serviceVersion: typeof(MetricsEndpoint).Assembly.GetName().Version?.ToString(3)))
            .WithMetrics(metrics => metrics
                .AddMeter(StationMetrics.MeterName)
                // No cached response: a scrape reports the station as it is now, not as an earlier scrape found it (the
                // exporter's default keeps a response for 300 ms, so a scrape could be older than a GetStatus before it).
                .AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0));
        return builder;
    }

    /// <summary>The rule: on loopback as the API is; beyond it only behind the API's tokens; never open to the network.</summary>
    public static PrometheusAccess Decide(MetricsOptions metrics, ApiOptions api)
    {
        if (metrics.Prometheus == false)
        {
            return PrometheusAccess.Off;
        }
        // The same test as the bearer handler's: tokens are asked for as soon as any listener leaves loopback.
        if (!api.RequireAuthentication && !ApiOptionsValidator.LeavesLoopback(api))
        {
            return PrometheusAccess.ThisMachine;
        }
        return api.ViewerTokens.Count + api.ClinicianTokens.Count > 0 ? PrometheusAccess.Token : PrometheusAccess.Off;
    }

    /// <summary>The scrape endpoint, when <see cref="Decide"/> allows it; after authentication, before the endpoints.</summary>
    public static WebApplication UseMetricsEndpoint(this WebApplication app)
    {
        ApiOptions api = app.Services.GetRequiredService<IOptions<ApiOptions>>().Value;
        if (Decide(app.Services.GetRequiredService<IOptions<MetricsOptions>>().Value, api) == PrometheusAccess.Off)
        {
            return app;
        }
        int browserPort = ApiOptionsValidator.TryParse(api.BrowserUrl, out System.Net.IPEndPoint? endpoint, out _) ? endpoint!.Port : -1;
        app.UseOpenTelemetryPrometheusScrapingEndpoint(
            meterProvider: null,
            predicate: context => context.Request.Path == Path && OnBrowserPort(context, browserPort),
            path: null,
            configureBranchedPipeline: branch => branch.Use(RequireViewerAsync),
            optionsName: null);
        return app;
    }

    // As DisplayEndpoints decides it: the configured browser port, or HTTP/1.1 when it was port 0 (tests).
    private static bool OnBrowserPort(HttpContext context, int browserPort) =>
        browserPort > 0 ? context.Connection.LocalPort == browserPort : context.Request.Protocol == "HTTP/1.1";

    /// <summary>A scrape is a read, so a viewer's token suffices; on loopback without tokens everyone is let in, as for the API.</summary>
    private static async Task RequireViewerAsync(HttpContext context, RequestDelegate next)
    {
        IAuthorizationService authorization = context.RequestServices.GetRequiredService<IAuthorizationService>();
        if ((await authorization.AuthorizeAsync(context.User, ApiRoles.ViewPolicy)).Succeeded)
        {
            await next(context);
        }
        else if (context.User.Identity?.IsAuthenticated == true)
        {
            await context.ForbidAsync();
        }
        else
        {
            await context.ChallengeAsync();
        }
    }

    /// <summary>Logs where the metrics are and who may read them, or why there are none (one line).</summary>
    public static void Announce(WebApplication app)
    {
        ApiOptions api = app.Services.GetRequiredService<IOptions<ApiOptions>>().Value;
        MetricsOptions metrics = app.Services.GetRequiredService<IOptions<MetricsOptions>>().Value;
        ILogger logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("EmgBiofeedback.Server");
        string url = api.BrowserUrl.TrimEnd('/') + Path;
        switch (Decide(metrics, api))
        {
            case PrometheusAccess.ThisMachine:
                MetricsLog.Endpoint(logger, url, "from this machine, no token");
                break;
            case PrometheusAccess.Token:
                MetricsLog.Endpoint(logger, url, "with a viewer or clinician bearer token");
                break;
            default:
                MetricsLog.Off(logger, metrics.Prometheus == false
                    ? "Metrics:Prometheus is false"
                    : "the API leaves this machine and no token is configured; add one to Api:ViewerTokens for the scraper");
                break;
        }
    }
}

internal static partial class MetricsLog
{
    [LoggerMessage(50, LogLevel.Information, "Prometheus metrics on {Url} ({Access})")]
    public static partial void Endpoint(ILogger logger, string url, string access);

    [LoggerMessage(51, LogLevel.Information, "Prometheus metrics off: {Reason}")]
    public static partial void Off(ILogger logger, string reason);
}
