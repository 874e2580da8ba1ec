namespace EmgBiofeedback.Server.Tests;

/// <summary>
/// Every listener follows the exposure rules of Api:GrpcUrl and Api:BrowserUrl (TLS and tokens off
/// loopback): a listener configured any other way would escape them, so start-up refuses it.
/// </summary>
public class ListenerTests
{
    [Theory]
    [InlineData("--Kestrel:Endpoints:Extra:Url=http://127.0.0.1:{0}", "Kestrel:Endpoints")]
    [InlineData("--Kestrel:Endpoints:Extra:Url=http://0.0.0.0:{0}", "Kestrel:Endpoints")]
    [InlineData("--urls=http://127.0.0.1:{0}", "urls")]
    public async Task A_listener_configured_outside_the_Api_settings_stops_start_up(string setting, string name)
    {
        await using ServerProcess server = ServerProcess.Start([.. ServerProcess.AnyPorts, string.Format(setting, FreePorts.Next())]);

        Assert.Equal(2, await server.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains($"Configuration error in {name}:", string.Join('\n', server.Output), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ASPNETCORE_URLS", "http://0.0.0.0:{0}", "urls")]
    [InlineData("ASPNETCORE_HTTP_PORTS", "{0}", "http_ports")]
    public async Task A_listener_from_the_environment_stops_start_up(string variable, string value, string name)
    {
        var options = new ServerProcess.StartOptions { Environment = new Dictionary<string, string> { [variable] = string.Format(value, FreePorts.Next()) } };
        await using ServerProcess server = ServerProcess.Start(options, [.. ServerProcess.AnyPorts, "--preferHostingUrls=true"]);

        Assert.Equal(2, await server.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains($"Configuration error in {name}:", string.Join('\n', server.Output), StringComparison.Ordinal);
    }
}
