using System.Globalization;
using System.Text;
using EmgBiofeedback.Acquisition;
using EmgBiofeedback.Protocol;
using Microsoft.Extensions.Options;

namespace EmgBiofeedback.Server;

/// <summary>
/// Logs one line every few seconds: link state, frames per second, every loss counter, and each channel's
/// activity as microvolts RMS with a bar, so a new user sees at a glance that data flows and which muscle is busy.
/// </summary>
internal sealed partial class StatusReporter(
    AcquisitionLoop loop,
    LiveActivityMonitor monitor,
    IOptions<AcquisitionOptions> options,
    TimeProvider time,
    ILogger<StatusReporter> logger) : BackgroundService
{
    private static readonly string Bars = " ▁▂▃▄▅▆▇█";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.StatusInterval, time);
        monitor.TakeSnapshot();
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                Status(logger, Format(loop, monitor.TakeSnapshot()));
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    internal static string Format(AcquisitionLoop loop, ActivitySnapshot snapshot)
    {
        DecoderCounters c = loop.Counters;
        var line = new StringBuilder();
        line.Append(CultureInfo.InvariantCulture, $"{(loop.Connected ? "ok" : "DISCONNECTED")} | {loop.LinkDescription}");
        if (loop.Board is { } board)
        {
            line.Append(CultureInfo.InvariantCulture, $" | {board.ChannelCount} ch x {board.SampleRateHz} Hz");
        }
        line.Append(CultureInfo.InvariantCulture,
            $" | {snapshot.FramesPerSecond:F0} frames/s | lost {c.LostFrames} in {c.Gaps} gaps, crc {c.CrcErrors}, resync {c.Resyncs}, dup {c.Duplicates}, reconnects {loop.Reconnects} |");
        foreach (ChannelActivity channel in snapshot.Channels)
        {
            // Bar scale: log-like steps from 2 to 500 µV, the range from a relaxed neck muscle to a spasm.
            double level = Math.Clamp(Math.Log(Math.Max(channel.RmsMicrovolts, 1) / 2) / Math.Log(250) * (Bars.Length - 1), 0, Bars.Length - 1);
            line.Append(CultureInfo.InvariantCulture, $" {channel.Label} {channel.RmsMicrovolts,5:F0}µV {Bars[(int)level]}");
        }
        return line.ToString();
    }

    [LoggerMessage(100, LogLevel.Information, "{Status}")]
    private static partial void Status(ILogger logger, string status);
}
