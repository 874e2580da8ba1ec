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
    StationStatusSource status,
    IOptions<AcquisitionOptions> options,
    TimeProvider time,
    ILogger<StatusReporter> logger) : BackgroundService
{
    private const string Bars = " ▁▂▃▄▅▆▇█";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.StatusInterval, time);
        long frames = status.Capture().Counters.SampleFrames;
        long since = time.GetTimestamp();
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                StationStatus now = status.Capture();
                double perSecond = (now.Counters.SampleFrames - frames) / time.GetElapsedTime(since).TotalSeconds;
                (frames, since) = (now.Counters.SampleFrames, time.GetTimestamp());
                Status(logger, Format(now, perSecond));
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    internal static string Format(StationStatus s, double framesPerSecond)
    {
        DecoderCounters c = s.Counters;
        var line = new StringBuilder();
        line.Append(CultureInfo.InvariantCulture, $"{(s.Connected ? "ok" : "DISCONNECTED")} | {Describe(s.Source)} | {s.Link}");
        if (s.Board is { } board)
        {
            line.Append(CultureInfo.InvariantCulture, $" | {board.ChannelCount} ch x {board.SampleRateHz} Hz");
        }
        line.Append(CultureInfo.InvariantCulture,
            $" | {framesPerSecond:F0} frames/s | lost {c.LostFrames} in {c.Gaps} gaps, crc {c.CrcErrors}, resync {c.Resyncs}, dup {c.Duplicates}, reconnects {s.Reconnects} |");
        if (s.NotProcessed is not null)
        {
            line.Append(CultureInfo.InvariantCulture, $" NOT PROCESSED: {s.NotProcessed}");
        }
        if (s.Latest is null && s.NotProcessed is null)
        {
            line.Append(" no activation data");
        }
        foreach (MuscleActivation m in s.Latest?.Muscles ?? [])
        {
            // Bar scale: log steps from 2 to 500 µV, from a relaxed neck muscle to a spasm.
            double level = Math.Clamp(Math.Log(Math.Max(m.RmsMicrovolts, 1) / 2) / Math.Log(250) * (Bars.Length - 1), 0, Bars.Length - 1);
            line.Append(CultureInfo.InvariantCulture, $" {m.Label} {m.RmsMicrovolts,5:F1}µV {Bars[(int)level]}{Warnings(m)}");
        }
        if (s.BoardOverflow > 0)
        {
            line.Append(CultureInfo.InvariantCulture, $" | board overflow: {s.BoardOverflow} sample instants dropped on the board");
        }
        if (s.RecorderFailure is not null)
        {
            line.Append(CultureInfo.InvariantCulture, $" | recorder STOPPED: {s.RecorderFailure}");
        }
        if (s.SamplesNotRecorded > 0)
        {
            line.Append(CultureInfo.InvariantCulture, $" | recorder: {s.SamplesNotRecorded} samples not recorded");
        }
        if (s.AnnotationsLost > 0)
        {
            line.Append(CultureInfo.InvariantCulture, $" | recorder: {s.AnnotationsLost} annotations lost");
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
