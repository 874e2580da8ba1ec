using System.Collections.Concurrent;
using System.Threading.Channels;
using EmgBiofeedback.Acquisition;
using EmgBiofeedback.Dsp;
using EmgBiofeedback.Pipeline;
using Microsoft.Extensions.Logging;

namespace EmgBiofeedback.History.Tests;

/// <summary>A simulated board driving the real live pipeline, fed without real-time pacing.</summary>
public sealed class SimulatedSession
{
    private readonly SimulatedBoard _board = new(new SimulatorOptions(), sensorGain: 200);
    private readonly ushort[] _counts = new ushort[8];
    private long _index;

    public SimulatedSession()
    {
        string[] labels = new SimulatorOptions().EffectiveMuscles(8).Select(m => m.Label).ToArray();
        Pipeline = new LivePipeline(new SignalChainOptions(), labels, TimeProvider.System);
        Pipeline.OnBoard(_board.Describe());
        Published = Pipeline.Activation.Subscribe(capacity: 100_000);
    }

    public LivePipeline Pipeline { get; }

    /// <summary>What the pipeline published (what the gRPC stream carries), for comparison.</summary>
    public Subscription<ActivationFrame> Published { get; }

    public void Run(double seconds)
    {
        long end = _index + (long)(seconds * 1000);
        for (; _index < end; _index++)
        {
            _board.TrySampleNext(_counts, out _);
            Pipeline.OnSamples(_index, _counts);
        }
    }

    public List<ActivationFrame> TakePublished()
    {
        var list = new List<ActivationFrame>();
        while (Published.Reader.TryRead(out ActivationFrame? f))
        {
            list.Add(f);
        }
        return list;
    }
}

public sealed class CapturingLogger<T> : ILogger<T>
{
    public ConcurrentQueue<(LogLevel Level, string Message)> Entries { get; } = new();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Entries.Enqueue((logLevel, formatter(state, exception)));
}

public static class TestOptions
{
    public static HistoryOptions For(string url) => new()
    {
        Enabled = true,
        Url = url,
        Org = "clinic",
        Bucket = "emg",
        Token = "test-token",
        Station = "station-1",
        BatchSize = 400,
        FlushInterval = TimeSpan.FromMilliseconds(100),
        RequestTimeout = TimeSpan.FromSeconds(2),
        RetryDelay = TimeSpan.FromMilliseconds(200),
        MaxRetryDelay = TimeSpan.FromSeconds(2),
        SpoolDirectory = Path.Combine(Path.GetTempPath(), "emg-spool-" + Guid.NewGuid().ToString("N")),
        SpoolMaxBytes = 64L << 20,
        SpoolFsync = SpoolFsyncPolicy.EveryBatch,
    };
}
