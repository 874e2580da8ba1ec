using EmgBiofeedback.Acquisition;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace EmgBiofeedback.Server;

/// <summary>
/// The standard gRPC health service reports SERVING while the board is connected and NOT_SERVING while
/// it is not: a display or a supervisor can tell "service up, no data" from "all well".
/// </summary>
internal sealed class AcquisitionHealth(AcquisitionLoop loop) : IHealthCheck
{
    /// <summary>Tags the check, so the health service can map the emg.v1 services that need the board to it.</summary>
    public const string Tag = "board";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(loop.Connected
            ? HealthCheckResult.Healthy($"Streaming from {loop.LinkDescription}")
            : HealthCheckResult.Unhealthy($"No board: {loop.LinkDescription} is not connected"));
}
