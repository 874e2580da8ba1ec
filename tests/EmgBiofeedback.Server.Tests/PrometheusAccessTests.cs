using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.Options;

namespace EmgBiofeedback.Server.Tests;

/// <summary>Who may scrape: this machine on loopback; a viewer's or clinician's token once the API asks for tokens; nobody when off.</summary>
public class PrometheusAccessTests
{
    private const string ViewerToken = "viewer-token-0123456789";
    private const string ClinicianToken = "clinician-token-0123456789";

    [Fact]
    public async Task A_scrape_needs_a_token_when_the_API_asks_for_tokens()
    {
        await using ServerProcess server = ServerProcess.StartListening(
            "--Api:RequireAuthentication=true", $"--Api:ViewerTokens:0={ViewerToken}", $"--Api:ClinicianTokens:0={ClinicianToken}");
        using var http = new HttpClient();

        Assert.Equal(HttpStatusCode.Unauthorized, (await ScrapeAsync(http, server, token: null)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await ScrapeAsync(http, server, "wrong-token-0123456789")).StatusCode);
        using HttpResponseMessage viewer = await ScrapeAsync(http, server, ViewerToken);
        Assert.Equal(HttpStatusCode.OK, viewer.StatusCode);
        Assert.Contains("emg_acquisition_lost_frames_total", await viewer.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await ScrapeAsync(http, server, ClinicianToken)).StatusCode);

        string log = server.Log();
        Assert.Contains($"Prometheus metrics on {server.BrowserAddress}/metrics (with a viewer or clinician bearer token)", log, StringComparison.Ordinal);
        Assert.DoesNotContain(ViewerToken, log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_Prometheus_false_turns_the_endpoint_off()
    {
        await using ServerProcess server = ServerProcess.StartListening("--Metrics:Prometheus=false");
        using var http = new HttpClient();

        Assert.Equal(HttpStatusCode.NotFound, (await ScrapeAsync(http, server, token: null)).StatusCode);
        Assert.Contains("Prometheus metrics off: Metrics:Prometheus is false", server.Log(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://127.0.0.1:5081", false, false, null, PrometheusAccess.ThisMachine)]
    [InlineData("http://localhost:5081", false, true, null, PrometheusAccess.ThisMachine)]
    [InlineData("http://127.0.0.1:5081", true, true, null, PrometheusAccess.Token)]
    [InlineData("https://192.0.2.10:5081", false, true, null, PrometheusAccess.Token)]
    [InlineData("https://192.0.2.10:5081", false, false, null, PrometheusAccess.Off)]
    [InlineData("https://192.0.2.10:5081", false, true, false, PrometheusAccess.Off)]
    [InlineData("http://127.0.0.1:5081", false, false, false, PrometheusAccess.Off)]
    public void On_loopback_as_the_API_is_beyond_it_only_behind_a_token(string browserUrl, bool requireAuthentication, bool tokens, bool? prometheus, PrometheusAccess expected)
    {
        var api = new ApiOptions
        {
            BrowserUrl = browserUrl,
            RequireAuthentication = requireAuthentication,
            ViewerTokens = tokens ? [ViewerToken] : [],
        };

        Assert.Equal(expected, MetricsEndpoint.Decide(new MetricsOptions { Prometheus = prometheus }, api));
    }

    [Fact]
    public void Asking_for_metrics_open_to_the_network_stops_start_up_with_the_reason()
    {
        var api = Options.Create(new ApiOptions { BrowserUrl = "https://192.0.2.10:5081" });

        ValidateOptionsResult result = new MetricsOptionsValidator(api).Validate(null, new MetricsOptions { Prometheus = true });

        Assert.True(result.Failed);
        Assert.Contains("Metrics:Prometheus is true", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("add a token", result.FailureMessage, StringComparison.OrdinalIgnoreCase);
        Assert.True(new MetricsOptionsValidator(api).Validate(null, new MetricsOptions()).Succeeded); // the default is simply off there
    }

    private static async Task<HttpResponseMessage> ScrapeAsync(HttpClient http, ServerProcess server, string? token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, server.BrowserAddress + "/metrics");
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        return await http.SendAsync(request);
    }
}
