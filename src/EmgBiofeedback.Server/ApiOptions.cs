using System.Net;
using Microsoft.Extensions.Options;

namespace EmgBiofeedback.Server;

/// <summary>
/// Configuration section "Api": who may call the gRPC API. On loopback (the default) anyone on this
/// machine may; bound to any other address the service requires TLS and bearer tokens, with two roles:
/// viewers read the live streams, clinicians also control sessions. Tokens come from configuration or
/// the environment (Api__ClinicianTokens__0=...) and are never logged.
/// </summary>
public sealed class ApiOptions
{
    public const string SectionName = "Api";

    /// <summary>Where gRPC clients connect (HTTP/2). https:// is required for any address but loopback.</summary>
    public string GrpcUrl { get; set; } = "http://127.0.0.1:5080";

    /// <summary>
    /// Where browsers connect (HTTP/1.1, gRPC-Web): browsers speak HTTP/2 only over TLS, and Kestrel
    /// cannot offer both HTTP/1.1 and HTTP/2 on one cleartext port.
    /// </summary>
    public string BrowserUrl { get; set; } = "http://127.0.0.1:5081";

    /// <summary>Require a token even on loopback (always required elsewhere).</summary>
    public bool RequireAuthentication { get; set; }

    public List<string> ViewerTokens { get; set; } = [];

    public List<string> ClinicianTokens { get; set; } = [];
}

/// <summary>Checks the tokens and, given the URLs the service binds, that leaving loopback is safe.</summary>
internal sealed class ApiOptionsValidator : IValidateOptions<ApiOptions>
{
    private const int MinimumTokenLength = 16;

    public ValidateOptionsResult Validate(string? name, ApiOptions options)
    {
        var errors = new List<string>();
        foreach (string token in options.ViewerTokens.Concat(options.ClinicianTokens))
        {
            if (token.Length < MinimumTokenLength)
            {
                errors.Add($"Api: every token must be at least {MinimumTokenLength} characters (one is {token.Length}).");
            }
        }
        if (options.RequireAuthentication && options.ViewerTokens.Count + options.ClinicianTokens.Count == 0)
        {
            errors.Add("Api:RequireAuthentication is true but Api:ViewerTokens and Api:ClinicianTokens hold no token: every call would be refused; add a token or set it to false.");
        }
        foreach ((string setting, string url) in new[] { ("Api:GrpcUrl", options.GrpcUrl), ("Api:BrowserUrl", options.BrowserUrl) })
        {
            if (!TryParse(url, out IPEndPoint? endpoint, out bool https))
            {
                errors.Add($"{setting}: '{url}' is not an http:// or https:// URL with an IP address (or localhost) and a port.");
                continue;
            }
            if (IPAddress.IsLoopback(endpoint!.Address))
            {
                continue;
            }
            if (!https)
            {
                errors.Add($"{setting}: '{url}' leaves this machine without TLS; use https:// with a certificate (Kestrel:Certificates:Default).");
            }
            if (options.ViewerTokens.Count + options.ClinicianTokens.Count == 0)
            {
                errors.Add($"{setting}: '{url}' leaves this machine, so Api:ViewerTokens or Api:ClinicianTokens must hold at least one token.");
            }
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>Reads "http(s)://address:port"; localhost means 127.0.0.1.</summary>
    public static bool TryParse(string url, out IPEndPoint? endpoint, out bool https)
    {
        endpoint = null;
        https = false;
        if (!Uri.TryCreate(url, UriKind.Absolute, out Uri? uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            return false;
        }
        IPAddress? address = uri.Host == "localhost" ? IPAddress.Loopback : IPAddress.TryParse(uri.Host.Trim('[', ']'), out IPAddress? ip) ? ip : null;
        if (address is null)
        {
            return false;
        }
        endpoint = new IPEndPoint(address, uri.Port);
        https = uri.Scheme == Uri.UriSchemeHttps;
        return true;
    }

    /// <summary>True when a configured URL is reachable from other machines: tokens are then required.</summary>
    public static bool LeavesLoopback(ApiOptions options) =>
        new[] { options.GrpcUrl, options.BrowserUrl }.Any(u => !TryParse(u, out IPEndPoint? e, out _) || !IPAddress.IsLoopback(e!.Address));
}
