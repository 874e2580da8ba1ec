using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace EmgBiofeedback.Server;

/// <summary>The two roles of the API.</summary>
public static class ApiRoles
{
    public const string Viewer = "viewer";
    public const string Clinician = "clinician";

    /// <summary>Policy for the live streams: viewers and clinicians.</summary>
    public const string ViewPolicy = "view";

    /// <summary>Policy for session control: clinicians only.</summary>
    public const string ControlPolicy = "control";
}

/// <summary>
/// "Authorization: Bearer &lt;token&gt;" checked against the configured tokens in constant time. With
/// authentication off (loopback, the default), every caller is a clinician: one code path either way.
/// Tokens are never logged, not even when wrong.
/// </summary>
internal sealed class BearerTokenHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> schemeOptions,
    ILoggerFactory loggerFactory,
    UrlEncoder encoder,
    IOptions<ApiOptions> api) : AuthenticationHandler<AuthenticationSchemeOptions>(schemeOptions, loggerFactory, encoder)
{
    public const string SchemeName = "Bearer";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        ApiOptions options = api.Value;
        // A request that reached the service on an address other than loopback needs a token, whatever
        // the listener: defence in depth behind the start-up checks of every listener.
        System.Net.IPAddress? local = Context.Connection.LocalIpAddress;
        local = local is { IsIPv4MappedToIPv6: true } ? local.MapToIPv4() : local;
        bool arrivedOnLoopback = local is not null && System.Net.IPAddress.IsLoopback(local);
        if (!options.RequireAuthentication && !ApiOptionsValidator.LeavesLoopback(options) && arrivedOnLoopback)
        {
            return Task.FromResult(Success("loopback", ApiRoles.Clinician));
        }
        string header = Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }
        byte[] presented = Encoding.UTF8.GetBytes(header["Bearer ".Length..].Trim());
        if (Matches(presented, options.ClinicianTokens))
        {
            return Task.FromResult(Success("token", ApiRoles.Clinician));
        }
        if (Matches(presented, options.ViewerTokens))
        {
            return Task.FromResult(Success("token", ApiRoles.Viewer));
        }
        return Task.FromResult(AuthenticateResult.Fail("The bearer token is not one of the configured tokens."));
    }

    private static bool Matches(byte[] presented, List<string> tokens)
    {
        bool match = false;
        foreach (string token in tokens)
        {
            match |= CryptographicOperations.FixedTimeEquals(presented, Encoding.UTF8.GetBytes(token));
        }
        return match;
    }

    private AuthenticateResult Success(string how, string role)
    {
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, how), new Claim(ClaimTypes.Role, role)], SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }
}
