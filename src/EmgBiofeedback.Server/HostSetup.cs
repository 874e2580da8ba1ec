using EmgBiofeedback.Acquisition;
using EmgBiofeedback.Dsp;
using EmgBiofeedback.History;
using EmgBiofeedback.Pipeline;
using EmgBiofeedback.Protocol;
using EmgBiofeedback.Recording;
using EmgBiofeedback.Sessions;
using Grpc.AspNetCore.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using V1 = EmgBiofeedback.Contracts.V1;

namespace EmgBiofeedback.Server;

/// <summary>The service's wiring, shared by Program and the tests that start the real host.</summary>
public static partial class HostSetup
{
    public static WebApplicationBuilder AddEmgBiofeedback(this WebApplicationBuilder builder)
    {
        builder.Host.UseSystemd();
        // A background service that fails stops the host (and Program exits 1): never a silent half-service.
        builder.Services.Configure<HostOptions>(o => o.BackgroundServiceExceptionBehavior = BackgroundServiceExceptionBehavior.StopHost);
        if (Journald.IsLogDestination())
        {
            // "<6>category[id] message": UseSystemd chooses this format too, but a console format set after it wins.
            builder.Logging.AddSystemdConsole();
        }
        else
        {
            builder.Logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "HH:mm:ss ";
            });
        }

        IServiceCollection services = builder.Services;
        services.AddSingleton(TimeProvider.System);
        services.AddOptions<AcquisitionOptions>().Bind(builder.Configuration.GetSection(AcquisitionOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AcquisitionOptions>, AcquisitionOptionsValidator>();
        services.AddOptions<SignalChainOptions>().Bind(builder.Configuration.GetSection(SignalChainOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<SignalChainOptions>, SignalChainOptionsValidator>();
        services.AddOptions<LiveOptions>().Bind(builder.Configuration.GetSection(LiveOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<LiveOptions>, LiveOptionsValidator>();

        services.AddOptions<RecorderOptions>().Bind(builder.Configuration.GetSection(RecorderOptions.SectionName)).ValidateOnStart()
            .PostConfigure<IOptions<SignalChainOptions>>((recording, dsp) =>
            {
                if (!string.IsNullOrWhiteSpace(recording.Folder))
                {
                    recording.Folder = ResolveDataFolder(recording.Folder);
                }
                // One scaling for the whole station: files carry the signal chain's gain and offset.
                recording.SensorGain = dsp.Value.SensorGain;
                recording.AdcOffsetCounts = dsp.Value.AdcOffsetCounts;
                recording.ChannelGains = dsp.Value.Channels.Select(c => c.SensorGain ?? dsp.Value.SensorGain).ToList();
            });
        services.AddSingleton<IValidateOptions<RecorderOptions>, RecorderOptionsValidator>();
        services.AddOptions<ReplayOptions>().Bind(builder.Configuration.GetSection(ReplayOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ReplayOptions>, ReplayOptionsValidator>();
        services.AddSingleton(sp => new RecordingsFolder(sp.GetRequiredService<IOptions<RecorderOptions>>().Value.Folder));
        services.AddSingleton(sp => new Recorder(
            sp.GetRequiredService<IOptions<RecorderOptions>>().Value,
            sp.GetRequiredService<RecordingsFolder>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<Recorder>>()));
        services.AddOptions<HistoryOptions>().Bind(builder.Configuration.GetSection(HistoryOptions.SectionName)).ValidateOnStart()
            .PostConfigure<IOptions<RecorderOptions>>((history, recording) =>
            {
                // One name for the station: Recording:Station, written into every recording's header, is the station
                // tag of every point, so a back-fill from a recording writes the very series the live writer wrote.
                history.Station = recording.Value.Station;
            });
        services.AddSingleton<IValidateOptions<HistoryOptions>, HistoryOptionsValidator>();
        services.AddSingleton<HistoryWorker>();
        services.AddHostedService(sp => sp.GetRequiredService<HistoryWorker>());
        services.AddSingleton<ISessionObserver>(sp => sp.GetRequiredService<HistoryWorker>());

        services.AddSingleton(sp => new ReplaySource(CreateConfiguredLink(sp), ConfiguredLabels(sp)));
        services.AddSingleton(sp => new SwitchableBoardLink(sp.GetRequiredService<ReplaySource>().Link));
        services.AddSingleton<IBoardLink>(sp => sp.GetRequiredService<SwitchableBoardLink>());
        services.AddSingleton(sp =>
        {
            var control = new ReplayControl(
                sp.GetRequiredService<SwitchableBoardLink>(),
                sp.GetRequiredService<ReplaySource>().Link,
                sp.GetRequiredService<RecordingsFolder>(),
                sp.GetRequiredService<IOptions<SignalChainOptions>>().Value,
                sp.GetRequiredService<TimeProvider>());
            LivePipeline pipeline = sp.GetRequiredService<LivePipeline>();
            RecordingsFolder folder = sp.GetRequiredService<RecordingsFolder>();
            IReadOnlyList<string> boardLabels = sp.GetRequiredService<ReplaySource>().Labels;
            control.ReturnedToBoard += () => pipeline.SetLabels(boardLabels);
            control.Refused += why => pipeline.Publish(new LiveEvent(0, StationEventKind.SourceRefused, sp.GetRequiredService<TimeProvider>().GetUtcNow(), ClientErrors.WithoutServerPaths(why, folder.Root)));
            return control;
        });
        services.AddSingleton(sp => new LivePipeline(
            sp.GetRequiredService<IOptions<SignalChainOptions>>().Value,
            sp.GetRequiredService<ReplaySource>().Labels,
            sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<IAcquisitionSink>(sp => sp.GetRequiredService<LivePipeline>());
        services.AddSingleton<IAcquisitionSink>(sp => sp.GetRequiredService<Recorder>());
        services.AddSingleton(sp => new AcquisitionLoop(
            sp.GetRequiredService<IBoardLink>(),
            sp.GetServices<IAcquisitionSink>(),
            sp.GetRequiredService<IOptions<AcquisitionOptions>>().Value,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<AcquisitionLoop>>()));
        services.AddSingleton<StationStatusSource>();
        builder.AddStationMetrics();
        services.AddOptions<SessionOptions>().Bind(builder.Configuration.GetSection(SessionOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<SessionOptions>, SessionOptionsValidator>();
        services.AddSingleton(sp => new CalibrationStore(sp.GetRequiredService<IOptions<RecorderOptions>>().Value.Folder));
        services.AddSingleton(sp => new ProtocolStore(sp.GetRequiredService<IOptions<RecorderOptions>>().Value.Folder));
        services.AddSingleton(sp => new SessionManager(
            sp.GetRequiredService<LivePipeline>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetServices<ISessionObserver>(),
            sp.GetRequiredService<IOptions<SessionOptions>>(),
            sp.GetRequiredService<Recorder>(),
            sp.GetRequiredService<CalibrationStore>(),
            sp.GetRequiredService<IOptions<RecorderOptions>>(),
            sp.GetRequiredService<ILogger<SessionManager>>()));
        services.AddSingleton<DeliveryLatency>();
        services.AddHostedService<AcquisitionWorker>();
        services.AddHostedService<StatusReporter>();
        AddApi(builder);
        return builder;
    }

    private static void AddApi(WebApplicationBuilder builder)
    {
        IServiceCollection services = builder.Services;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            ApiOptions api = kestrel.ApplicationServices.GetRequiredService<IOptions<ApiOptions>>().Value;
            Listen(kestrel, api.GrpcUrl, HttpProtocols.Http2);
            Listen(kestrel, api.BrowserUrl, HttpProtocols.Http1);
            // Keepalive: ping an idle connection after 30 s, drop it if no answer within 20 s, so a
            // display that vanished (laptop lid closed) frees its streams within a minute.
            kestrel.Limits.Http2.KeepAlivePingDelay = TimeSpan.FromSeconds(30);
            kestrel.Limits.Http2.KeepAlivePingTimeout = TimeSpan.FromSeconds(20);
        });
        services.AddOptions<ApiOptions>().Bind(builder.Configuration.GetSection(ApiOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ApiOptions>, ApiOptionsValidator>();
        services.AddAuthentication(BearerTokenHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, BearerTokenHandler>(BearerTokenHandler.SchemeName, null);
        services.AddAuthorizationBuilder()
            .AddPolicy(ApiRoles.ViewPolicy, p => p.RequireRole(ApiRoles.Viewer, ApiRoles.Clinician))
            .AddPolicy(ApiRoles.ControlPolicy, p => p.RequireRole(ApiRoles.Clinician));
        services.AddGrpc(o => o.EnableDetailedErrors = false);
        services.AddGrpcReflection();
        services.AddGrpcHealthChecks(o =>
            {
                // Per service name: the streaming services need the board; Replays works without it (it
                // replaces the board). Unknown names stay NOT_FOUND; "" is the whole server.
                o.Services.Map(V1.Live.Descriptor.FullName, r => r.Tags.Contains(AcquisitionHealth.Tag));
                o.Services.Map(V1.Sessions.Descriptor.FullName, r => r.Tags.Contains(AcquisitionHealth.Tag));
                o.Services.Map(V1.Replays.Descriptor.FullName, r => r.Tags.Contains("host"));
            })
            .AddCheck<AcquisitionHealth>("acquisition", tags: [AcquisitionHealth.Tag])
            // The process answers: all a service that needs no board (Replays) depends on.
            .AddCheck("host", () => Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Healthy("The service runs."), tags: ["host"]);
    }

    private static void Listen(KestrelServerOptions kestrel, string url, HttpProtocols protocols)
    {
        // An unparsable URL is reported by ApiOptionsValidator before the host starts.
        if (ApiOptionsValidator.TryParse(url, out System.Net.IPEndPoint? endpoint, out bool https))
        {
            kestrel.Listen(endpoint!, listen =>
            {
                // With TLS, ALPN lets one port offer both; without, each port speaks one protocol.
                listen.Protocols = https ? HttpProtocols.Http1AndHttp2 : protocols;
                if (https)
                {
                    listen.UseHttps();
                }
            });
        }
    }

    /// <summary>
    /// Channel names: Live:ChannelLabels if set; else the replayed recording's labels, the simulated
    /// board's muscles, or none (CH n) for a real board.
    /// </summary>
    private static IReadOnlyList<string> ConfiguredLabels(IServiceProvider sp)
    {
        LiveOptions live = sp.GetRequiredService<IOptions<LiveOptions>>().Value;
        AcquisitionOptions acquisition = sp.GetRequiredService<IOptions<AcquisitionOptions>>().Value;
        ReplayOptions replay = sp.GetRequiredService<IOptions<ReplayOptions>>().Value;
        if (live.ChannelLabels.Count > 0)
        {
            return live.ChannelLabels;
        }
        if (!string.IsNullOrWhiteSpace(replay.File))
        {
            using var file = new RecordingFile(sp.GetRequiredService<RecordingsFolder>().Resolve(replay.File));
            return file.Labels;
        }
        return acquisition.UsesSerialPort ? [] : acquisition.Simulator.EffectiveMuscles(acquisition.Simulator.Channels).Select(m => m.Label).ToArray();
    }

    /// <summary>The source the configuration names: a replay file, a serial port, or the simulated board.</summary>
    private static IBoardLink CreateConfiguredLink(IServiceProvider sp)
    {
        AcquisitionOptions o = sp.GetRequiredService<IOptions<AcquisitionOptions>>().Value;
        ReplayOptions replay = sp.GetRequiredService<IOptions<ReplayOptions>>().Value;
        if (!string.IsNullOrWhiteSpace(replay.File))
        {
            // Resolve refuses paths that leave the recordings folder (../, absolute, symlinks out).
            string path = sp.GetRequiredService<RecordingsFolder>().Resolve(replay.File);
            if (!File.Exists(path))
            {
                throw new FileNotFoundException($"No recording '{replay.File}' in {sp.GetRequiredService<RecordingsFolder>().Root}.", path);
            }
            return new ReplayBoardLink(path, replay.Speed, sp.GetRequiredService<TimeProvider>());
        }
        // The simulated board models the sensor the signal chain assumes, so both use one gain.
        double gain = sp.GetRequiredService<IOptions<SignalChainOptions>>().Value.SensorGain;
        return o.UsesSerialPort
            ? new SerialBoardLink(o.Serial)
            : new SimulatedBoardLink(o.Simulator, gain, sp.GetRequiredService<TimeProvider>());
    }

    /// <summary>Tells the user where to point clients, in one line.</summary>
    public static void AnnounceEndpoints(WebApplication app)
    {
        ApiOptions api = app.Services.GetRequiredService<IOptions<ApiOptions>>().Value;
        ILogger logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("EmgBiofeedback.Server");
        ServerLog.Endpoints(logger, api.GrpcUrl, api.BrowserUrl);
        ServerLog.RecordingsFolder(logger, app.Services.GetRequiredService<RecordingsFolder>().Root);
        DisplayEndpoints.Announce(app);
        MetricsEndpoint.Announce(app);
    }

    /// <summary>Middleware and endpoints: gRPC (and gRPC-Web) services, health, reflection.</summary>
    public static WebApplication MapEmgBiofeedback(this WebApplication app)
    {
        app.UseRouting();
        app.UseGrpcWeb(new GrpcWebOptions { DefaultEnabled = true });
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseMetricsEndpoint();
        app.MapDisplay();
        app.MapGrpcService<LiveService>();
        app.MapGrpcService<SessionsService>();
        app.MapGrpcService<ReplaysService>();
        app.MapReports();
        app.MapGrpcHealthChecksService().AllowAnonymous();
        app.MapGrpcReflectionService().RequireAuthorization(ApiRoles.ViewPolicy);
        return app;
    }

    /// <summary>
    /// Resolves every options section, so a wrong setting is reported before anything starts.
    /// Throws <see cref="OptionsValidationException"/> naming the settings.
    /// </summary>
    public static void ValidateSettings(IServiceProvider services)
    {
        _ = services.GetRequiredService<IOptions<AcquisitionOptions>>().Value;
        SignalChainOptions dsp = services.GetRequiredService<IOptions<SignalChainOptions>>().Value; // with the configured board's rate
        _ = services.GetRequiredService<IOptions<LiveOptions>>().Value;
        _ = services.GetRequiredService<IOptions<ApiOptions>>().Value;
        _ = services.GetRequiredService<IOptions<MetricsOptions>>().Value;
        CheckRecordingsFolder(services.GetRequiredService<IOptions<RecorderOptions>>().Value.Folder);
        _ = services.GetRequiredService<IOptions<ReplayOptions>>().Value;
        _ = services.GetRequiredService<IOptions<HistoryOptions>>().Value;
        _ = services.GetRequiredService<IOptions<SessionOptions>>().Value;
        _ = services.GetRequiredService<IBoardLink>(); // a replay file outside the recordings folder is refused here
        if (services.GetRequiredService<ReplaySource>().Link is ReplayBoardLink replay)
        {
            // The replayed recording must be one the station can replay, at a rate and scale the chain can run.
            try
            {
                using RecordingFile file = ReplayControl.Check(replay.Path, $"Replay:File {Path.GetFileName(replay.Path)}", dsp, replay.Signals);
            }
            catch (ReplayRefusedException e)
            {
                throw new OptionsValidationException(ReplayOptions.SectionName, typeof(ReplayOptions), [e.Message]);
            }
        }
    }
}

internal static partial class ServerLog
{
    [LoggerMessage(1, LogLevel.Information, "gRPC API on {GrpcUrl} (emg.v1.Live, emg.v1.Sessions, emg.v1.Replays, health, reflection); gRPC-Web for browsers on {BrowserUrl}")]
    public static partial void Endpoints(ILogger logger, string grpcUrl, string browserUrl);
}
