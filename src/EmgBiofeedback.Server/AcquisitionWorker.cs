using EmgBiofeedback.Acquisition;
using EmgBiofeedback.Pipeline;

namespace EmgBiofeedback.Server;

/// <summary>Runs the acquisition loop for the host's lifetime (and keeps its metrics published).</summary>
internal sealed partial class AcquisitionWorker(AcquisitionLoop loop, StationMetrics metrics, LivePipeline pipeline, ILogger<AcquisitionWorker> logger) : BackgroundService
{
    public StationMetrics Metrics => metrics;

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        pipeline.ChainWarnings += warnings =>
        {
            foreach (string warning in warnings)
            {
                ChainWarning(logger, warning);
            }
        };
        return Task.Run(() => loop.RunAsync(stoppingToken), stoppingToken);
    }

    [LoggerMessage(10, LogLevel.Warning, "Signal chain: {Warning}")]
    private static partial void ChainWarning(ILogger logger, string warning);
}
