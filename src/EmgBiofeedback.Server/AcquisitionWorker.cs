using EmgBiofeedback.Acquisition;

namespace EmgBiofeedback.Server;

/// <summary>Runs the acquisition loop for the host's lifetime (and keeps its metrics published).</summary>
internal sealed class AcquisitionWorker(AcquisitionLoop loop, AcquisitionMetrics metrics) : BackgroundService
{
    public AcquisitionMetrics Metrics => metrics;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.Run(() => loop.RunAsync(stoppingToken), stoppingToken);
}
