using EmgBiofeedback.Acquisition;
using Microsoft.Extensions.Options;

namespace EmgBiofeedback.Server;

/// <summary>The service's wiring, shared by Program and the tests that start the real host.</summary>
public static class HostSetup
{
    public static WebApplicationBuilder AddEmgBiofeedback(this WebApplicationBuilder builder)
    {
        builder.Host.UseSystemd();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
        });

        IServiceCollection services = builder.Services;
        services.AddSingleton(TimeProvider.System);
        services.AddOptions<AcquisitionOptions>()
            .Bind(builder.Configuration.GetSection(AcquisitionOptions.SectionName))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<AcquisitionOptions>, AcquisitionOptionsValidator>();

        services.AddSingleton<IBoardLink>(sp =>
        {
            AcquisitionOptions o = sp.GetRequiredService<IOptions<AcquisitionOptions>>().Value;
            return o.UsesSerialPort
                ? new SerialBoardLink(o.Serial)
                : new SimulatedBoardLink(o.Simulator, o.SensorGain, sp.GetRequiredService<TimeProvider>());
        });
        services.AddSingleton(sp =>
        {
            AcquisitionOptions o = sp.GetRequiredService<IOptions<AcquisitionOptions>>().Value;
            IReadOnlyList<string> labels = o.UsesSerialPort ? [] : o.Simulator.EffectiveMuscles(o.Simulator.Channels).Select(m => m.Label).ToArray();
            return new LiveActivityMonitor(sp.GetRequiredService<TimeProvider>(), o.SensorGain, labels);
        });
        services.AddSingleton<IAcquisitionSink>(sp => sp.GetRequiredService<LiveActivityMonitor>());
        services.AddSingleton(sp => new AcquisitionLoop(
            sp.GetRequiredService<IBoardLink>(),
            sp.GetServices<IAcquisitionSink>(),
            sp.GetRequiredService<IOptions<AcquisitionOptions>>().Value,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<AcquisitionLoop>>()));
        services.AddSingleton<AcquisitionMetrics>();
        services.AddHostedService<AcquisitionWorker>();
        services.AddHostedService<StatusReporter>();
        return builder;
    }
}
