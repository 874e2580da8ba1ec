using EmgBiofeedback.Acquisition;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace EmgBiofeedback.Server;

/// <summary>
/// The standard gRPC health service reports SERVING while the board is connected and NOT_SERVING while
/// it is not: a display or a supervisor can tell "service up, no data" from "all well".
/// </summary>
internal sealed class AcquisitionHealth(AcquisitionLoop loop) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(loop.Connected
            ? HealthCheckResult.Healthy($"Streaming from {loop.LinkDescription}")
            : HealthCheckResult.Unhealthy($"No board: {loop.LinkDescription} is not connected"));
}
