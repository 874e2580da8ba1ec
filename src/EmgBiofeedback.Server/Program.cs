using EmgBiofeedback.Acquisition;
using EmgBiofeedback.Server;
using Microsoft.Extensions.Options;

if (args.Contains("--list-ports"))
{
    IReadOnlyList<string> ports = SerialBoardLink.AvailablePorts();
    Console.WriteLine(ports.Count == 0 ? "No serial ports found." : string.Join(Environment.NewLine, ports));
    return 0;
}

// Exit codes: 0 a requested stop (SIGTERM, Ctrl+C); 1 a failure at run time (logged with its reason);
// 2 a configuration error (one line on stderr naming the settings). A supervisor restarts on 1, and a
// restart cannot cure 2 (docs/operations.md, deploy/emgbiofeedback.service).
WebApplication? app = null;
try
{
    // Settings are read from the application's folder whatever the working directory: a service started
    // by systemd runs in "/" and must still find the station's appsettings.json.
    WebApplicationBuilder builder = WebApplication.CreateBuilder(new WebApplicationOptions
    {
        Args = args,
        ContentRootPath = AppContext.BaseDirectory,
    });
    HostSetup.CheckListeners(builder.Configuration);
    builder.AddEmgBiofeedback();
    builder.AddTestHooks(); // fault injection, only when an EMG_TEST_* variable is set (docs/reliability.md)
    app = builder.Build();
    HostSetup.AnnounceConfiguration(app);
    // Validate every options section before the host starts, so a wrong setting stops start-up with the
    // setting's name and no stack trace (ValidateOnStart would report it through the host's error log).
    HostSetup.ValidateSettings(app.Services);
}
catch (OptionsValidationException e)
{
    Console.Error.WriteLine($"Configuration error in {e.OptionsType.Name}: {string.Join(Environment.NewLine, e.Failures)}");
    return await HostSetup.ExitAsync(app, 2);
}
catch (Exception e) when (e is EmgBiofeedback.Recording.RecordingPathException or FileNotFoundException or InvalidDataException)
{
    Console.Error.WriteLine($"Configuration error in Replay:File: {e.Message}");
    return await HostSetup.ExitAsync(app, 2);
}
catch (ConfigurationErrorException e)
{
    Console.Error.WriteLine($"Configuration error in {e.Setting}: {e.Message}");
    return await HostSetup.ExitAsync(app, 2);
}
app.MapEmgBiofeedback();
try
{
    await app.StartAsync();
    HostSetup.CheckBoundAddresses(app);
}
catch (IOException e)
{
    // Kestrel could not bind (address in use, no such address): a fault of the machine, not of a setting.
    HostSetup.LogFailure(app, "start-up", e.Message);
    return await HostSetup.ExitAsync(app, 1);
}
catch (ConfigurationErrorException e)
{
    Console.Error.WriteLine($"Configuration error in {e.Setting}: {e.Message}");
    return await HostSetup.ExitAsync(app, 2);
}
HostSetup.AnnounceEndpoints(app);
await app.WaitForShutdownAsync();
// A background service that failed stopped the host (BackgroundServiceExceptionBehavior.StopHost): that
// is not a requested stop, so the process says so with a non-zero exit code and the reason in the log.
int exitCode = HostSetup.FailedBackgroundServices(app) ? 1 : 0;
await app.DisposeAsync();
return exitCode;
