using System.Globalization;
using System.Text;
using EmgBiofeedback.Acquisition;
using EmgBiofeedback.Dsp;
using EmgBiofeedback.Pipeline;
using EmgBiofeedback.Protocol;
using Microsoft.Extensions.Options;

namespace EmgBiofeedback.Server;

/// <summary>
/// Logs one line every few seconds: link state, frames per second, every loss counter, and each muscle's
/// RMS envelope from the signal chain with a bar and its quality warnings, so a new user sees at a glance
/// that data flows and which muscle is busy.
/// </summary>
internal sealed partial class StatusReporter(
    AcquisitionLoop loop,
    LivePipeline pipeline,
    IOptions<AcquisitionOptions> options,
    TimeProvider time,
    ILogger<StatusReporter> logger) : BackgroundService
{
    private const string Bars = " ▁▂▃▄▅▆▇█";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.StatusInterval, time);
        long frames = loop.Counters.SampleFrames;
        long since = time.GetTimestamp();
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                long now = loop.Counters.SampleFrames;
                double perSecond = (now - frames) / time.GetElapsedTime(since).TotalSeconds;
                (frames, since) = (now, time.GetTimestamp());
                Status(logger, Format(loop, loop.Source, perSecond, pipeline.Refused is null ? pipeline.Latest : null, pipeline.Refused));
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    internal static string Format(AcquisitionLoop loop, SourceKind source, double framesPerSecond, ActivationFrame? latest, string? refused = null)
    {
        DecoderCounters c = loop.Counters;
        var line = new StringBuilder();
        line.Append(CultureInfo.InvariantCulture, $"{(loop.Connected ? "ok" : "DISCONNECTED")} | {Describe(source)} | {loop.LinkDescription}");
        if (loop.Board is { } board)
        {
            line.Append(CultureInfo.InvariantCulture, $" | {board.ChannelCount} ch x {board.SampleRateHz} Hz");
        }
        line.Append(CultureInfo.InvariantCulture,
            $" | {framesPerSecond:F0} frames/s | lost {c.LostFrames} in {c.Gaps} gaps, crc {c.CrcErrors}, resync {c.Resyncs}, dup {c.Duplicates}, reconnects {loop.Reconnects} |");
        if (refused is not null)
        {
            line.Append(CultureInfo.InvariantCulture, $" NOT PROCESSED: {refused}");
        }
        foreach (MuscleActivation m in latest?.Muscles ?? [])
        {
            // Bar scale: log steps from 2 to 500 µV, from a relaxed neck muscle to a spasm.
            double level = Math.Clamp(Math.Log(Math.Max(m.RmsMicrovolts, 1) / 2) / Math.Log(250) * (Bars.Length - 1), 0, Bars.Length - 1);
            line.Append(CultureInfo.InvariantCulture, $" {m.Label} {m.RmsMicrovolts,5:F1}µV {Bars[(int)level]}{Warnings(m)}");
        }
        return line.ToString();
    }

    private static string Warnings(MuscleActivation m) =>
        !m.Valid ? " (settling)"
        : m.Quality == SignalQualityFlags.None ? ""
        : $" ({string.Join(", ", Enum.GetValues<SignalQualityFlags>().Where(f => f != SignalQualityFlags.None && m.Quality.HasFlag(f)).Select(Describe))})";

    // Capitals for the sources that are not a patient's live data, so they stand out in the log.
    internal static string Describe(SourceKind source) => source switch
    {
        SourceKind.SerialBoard => "serial board",
        SourceKind.SimulatedBoard => "SIMULATED",
        SourceKind.Replay => "REPLAY",
        _ => source.ToString(),
    };

    private static string Describe(SignalQualityFlags flag) => flag switch
    {
        SignalQualityFlags.Flatline => "flat: electrode off?",
        SignalQualityFlags.Clipping => "clipping",
        SignalQualityFlags.MainsContamination => "mains hum",
        SignalQualityFlags.NoisyBaseline => "high floor",
        _ => flag.ToString(),
    };

    [LoggerMessage(100, LogLevel.Information, "{Status}")]
    private static partial void Status(ILogger logger, string status);
}
