using System.Net;
using EmgBiofeedback.Recording;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;

namespace EmgBiofeedback.Server;

/// <summary>A setting (or a combination) the service refuses to start with; exit code 2.</summary>
public sealed class ConfigurationErrorException(string setting, string message) : Exception(message)
{
    /// <summary>The setting(s) at fault, as a user writes them (e.g. "Kestrel:Endpoints").</summary>
    public string Setting { get; } = setting;
}

/// <summary>Start-up checks that span settings, the configuration files, the exit code.</summary>
public static partial class HostSetup
{
    /// <summary>
    /// The service listens only where Api:GrpcUrl and Api:BrowserUrl say, so that one set of rules (TLS and
    /// tokens off loopback) covers every listener. Listeners added any other way (Kestrel:Endpoints, --urls,
    /// ASPNETCORE_URLS, ASPNETCORE_HTTP(S)_PORTS) would bypass them, so they are refused.
    /// </summary>
    public static void CheckListeners(IConfiguration configuration)
    {
        IConfigurationSection endpoints = configuration.GetSection("Kestrel:Endpoints");
        if (endpoints.GetChildren().Any())
        {
            throw new ConfigurationErrorException("Kestrel:Endpoints",
                $"listeners are configured with Api:GrpcUrl and Api:BrowserUrl only, so that TLS and tokens are enforced off loopback; remove Kestrel:Endpoints ({string.Join(", ", endpoints.GetChildren().Select(c => c.Key))}).");
        }
        foreach ((string key, string sources) in new[]
                 {
                     ("urls", "--urls, ASPNETCORE_URLS or DOTNET_URLS"),
                     ("http_ports", "ASPNETCORE_HTTP_PORTS or DOTNET_HTTP_PORTS"),
                     ("https_ports", "ASPNETCORE_HTTPS_PORTS or DOTNET_HTTPS_PORTS"),
                 })
        {
            if (!string.IsNullOrWhiteSpace(configuration[key]))
            {
                throw new ConfigurationErrorException(key,
                    $"'{configuration[key]}' (from {sources}) is not used by this service: set Api:GrpcUrl and Api:BrowserUrl instead, which enforce TLS and tokens off loopback.");
            }
        }
    }

    /// <summary>
    /// A second line of defence after start: every address Kestrel actually bound obeys the exposure rules.
    /// Throws <see cref="ConfigurationErrorException"/> when one does not.
    /// </summary>
    public static void CheckBoundAddresses(WebApplication app)
    {
        ApiOptions api = app.Services.GetRequiredService<IOptions<ApiOptions>>().Value;
        bool tokens = api.ViewerTokens.Count + api.ClinicianTokens.Count > 0;
        ICollection<string> bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        foreach (string address in bound)
        {
            bool parsed = ApiOptionsValidator.TryParse(address, out IPEndPoint? endpoint, out bool https);
            if (parsed && IPAddress.IsLoopback(endpoint!.Address))
            {
                continue;
            }
            if (!parsed || !https || !tokens)
            {
                throw new ConfigurationErrorException("Kestrel", $"the service listens on {address} without {(https ? "tokens" : "TLS")}; only Api:GrpcUrl and Api:BrowserUrl may add listeners.");
            }
        }
    }

    /// <summary>
    /// Makes a relative Recording:Folder absolute: inside systemd's StateDirectory= when the service runs
    /// under it ($STATE_DIRECTORY), else inside the working directory (as for a user's `dotnet run`).
    /// </summary>
    internal static string ResolveDataFolder(string folder)
    {
        if (Path.IsPathRooted(folder))
        {
            return Path.GetFullPath(folder);
        }
        string? state = Environment.GetEnvironmentVariable("STATE_DIRECTORY")?.Split(':', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
        return Path.GetFullPath(Path.Combine(string.IsNullOrEmpty(state) ? Directory.GetCurrentDirectory() : state, folder));
    }

    /// <summary>Creates the recordings folder and proves it writable, so a wrong folder fails now, not at the first session.</summary>
    private static void CheckRecordingsFolder(string folder)
    {
        try
        {
            Directory.CreateDirectory(folder);
            using var probe = new FileStream(Path.Combine(folder, $".write-test-{Environment.ProcessId}"), FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigurationErrorException("Recording:Folder", $"cannot write recordings to '{folder}': {e.Message}");
        }
    }

    /// <summary>Logs which configuration files were read (and which optional ones were absent).</summary>
    public static void AnnounceConfiguration(WebApplication app)
    {
        var read = new List<string>();
        foreach (FileConfigurationProvider provider in ((IConfigurationRoot)app.Configuration).Providers.OfType<FileConfigurationProvider>())
        {
            FileConfigurationSource source = provider.Source;
            if (source.Path is null)
            {
                continue;
            }
            string root = (source.FileProvider as PhysicalFileProvider)?.Root ?? app.Environment.ContentRootPath;
            string full = Path.GetFullPath(Path.Combine(root, source.Path));
            if (File.Exists(full))
            {
                read.Add(full);
            }
        }
        ILogger logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("EmgBiofeedback.Server");
        ServerLog.ConfigurationFiles(logger, read.Count == 0 ? "none" : string.Join(", ", read), app.Environment.EnvironmentName);
    }

    /// <summary>
    /// True (and each logged with its reason) when a background service failed: the host then stopped by
    /// itself, and the process must not exit 0 as if asked to stop.
    /// </summary>
    public static bool FailedBackgroundServices(WebApplication app)
    {
        bool failed = false;
        foreach (BackgroundService service in app.Services.GetServices<IHostedService>().OfType<BackgroundService>())
        {
            if (service.ExecuteTask is { IsFaulted: true } task)
            {
                failed = true;
                LogFailure(app, service.GetType().Name, task.Exception!.GetBaseException().Message);
            }
        }
        return failed;
    }

    public static void LogFailure(WebApplication app, string what, string reason) =>
        ServerLog.Failed(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("EmgBiofeedback.Server"), what, reason);

    /// <summary>Stops what started, flushes the log, and returns <paramref name="exitCode"/>.</summary>
    public static async Task<int> ExitAsync(WebApplication? app, int exitCode)
    {
        if (app is not null)
        {
            await app.StopAsync(CancellationToken.None);
            await app.DisposeAsync(); // flushes the console logger's queue
        }
        return exitCode;
    }
}

internal static partial class ServerLog
{
    [LoggerMessage(2, LogLevel.Information, "Configuration files: {Files} (environment {Environment})")]
    public static partial void ConfigurationFiles(ILogger logger, string files, string environment);

    [LoggerMessage(3, LogLevel.Critical, "Stopping with exit code 1: {What} failed: {Reason}")]
    public static partial void Failed(ILogger logger, string what, string reason);

    [LoggerMessage(4, LogLevel.Information, "Recordings folder: {Folder}")]
    public static partial void RecordingsFolder(ILogger logger, string folder);
}
