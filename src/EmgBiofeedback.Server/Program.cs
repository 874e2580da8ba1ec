using EmgBiofeedback.Acquisition;
using EmgBiofeedback.Server;
using Microsoft.Extensions.Options;

if (args.Contains("--list-ports"))
{
    IReadOnlyList<string> ports = SerialBoardLink.AvailablePorts();
    Console.WriteLine(ports.Count == 0 ? "No serial ports found." : string.Join(Environment.NewLine, ports));
    return 0;
}

WebApplication app;
try
{
    WebApplicationBuilder builder = WebApplication.CreateBuilder(args);
    builder.AddEmgBiofeedback();
    app = builder.Build();
    // Validate every options section before the host starts, so a wrong setting stops start-up with the
    // setting's name and no stack trace (ValidateOnStart would report it through the host's error log).
    HostSetup.ValidateSettings(app.Services);
}
catch (OptionsValidationException e)
{
    Console.Error.WriteLine($"Configuration error in {e.OptionsType.Name}: {string.Join(Environment.NewLine, e.Failures)}");
    return 2;
}
catch (Exception e) when (e is EmgBiofeedback.Recording.RecordingPathException or FileNotFoundException or InvalidDataException)
{
    Console.Error.WriteLine($"Configuration error in Replay:File: {e.Message}");
    return 2;
}
app.MapEmgBiofeedback();
await app.StartAsync();
HostSetup.AnnounceEndpoints(app);
await app.WaitForShutdownAsync();
await app.DisposeAsync();
return 0;
