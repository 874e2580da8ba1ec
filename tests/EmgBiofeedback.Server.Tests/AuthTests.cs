namespace EmgBiofeedback.Server.Tests;

/// <summary>With authentication on, tokens decide: none is Unauthenticated, a viewer may only watch.</summary>
public class AuthTests : IAsyncLifetime
{
    private const string ViewerToken = "viewer-token-0123456789";
    private const string ClinicianToken = "clinician-token-0123456789";
    private ServerProcess _server = null!;

    public Task InitializeAsync()
    {
        _server = ServerProcess.StartListening("--Api:RequireAuthentication=true", $"--Api:ViewerTokens:0={ViewerToken}", $"--Api:ClinicianTokens:0={ClinicianToken}");
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Tokens_decide_who_may_watch_and_who_may_control_and_are_never_logged()
    {
        Assert.Equal("UNAUTHENTICATED", await Code("status"));
        Assert.Equal("UNAUTHENTICATED", await Code("status", "--token", "wrong-token-0123456789"));
        Assert.Equal("OK", await Code("status", "--token", ViewerToken));
        Assert.Equal("OK", await Code("activation", "--seconds", "1", "--token", ViewerToken));
        Assert.Equal("PERMISSION_DENIED", await Code("start-session", "P-1", "--token", ViewerToken));
        Assert.Equal("OK", await Code("start-session", "P-1", "--token", ClinicianToken));
        Assert.Equal("OK", await Code("stop-session", "--token", ClinicianToken));

        string log = string.Join('\n', _server.Output);
        Assert.DoesNotContain(ViewerToken, log, StringComparison.Ordinal);
        Assert.DoesNotContain(ClinicianToken, log, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong-token", log, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--Api:GrpcUrl=http://0.0.0.0:0", "without TLS")]
    [InlineData("--Api:ViewerTokens:0=short", "at least 16 characters")]
    public async Task Leaving_loopback_without_TLS_or_with_weak_tokens_stops_start_up(string setting, string message)
    {
        await using ServerProcess server = ServerProcess.Start([.. ServerProcess.AnyPorts, setting, "--Api:ClinicianTokens:0=" + ClinicianToken]);

        Assert.Equal(2, await server.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains(message, string.Join('\n', server.Output), StringComparison.Ordinal);
    }

    private async Task<string?> Code(string command, params string[] arguments) =>
        (await PythonGrpcClient.RunAsync(_server.Target, command, arguments)).GetProperty("code").GetString();
}
