using BenchmarkDotNet.Attributes;
using EmgBiofeedback.Dsp;
using EmgBiofeedback.Protocol;
using EmgBiofeedback.Recording;

namespace EmgBiofeedback.Recording.Benchmarks;

/// <summary>
/// One hour of 8 channels at 1000 Hz (28.8 M channel-samples), as fast as possible: from a BDF+ file on disk
/// through the whole chain (read, decode 24-bit, convert, filter, envelope, quality), against the chain alone
/// on the same counts already in memory (the baseline: what the file path adds). One operation = the hour.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 1, iterationCount: 5)]
public class ReplayBenchmarks
{
    private const int Rate = 1000;
    private const int Channels = 8;
    private const int Seconds = 3600;

    private readonly SignalChainOptions _options = new();
    private string _folder = "";
    private string _path = "";
    private ushort[] _counts = [];
    private EnvelopeSample[] _outputs = [];

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(3);
        _counts = new ushort[Rate * Channels * Seconds];
        for (int i = 0; i < _counts.Length; i++)
        {
            _counts[i] = (ushort)(512 + rng.Next(-40, 41));
        }
        _folder = Directory.CreateTempSubdirectory("emg-replay-bench").FullName;
        var board = new BoardInfo(1, 1, 0, 0, Channels, Rate, 10, 5000, true, 0, "bench");
        var recorder = new Recorder(new RecorderOptions { Folder = _folder, Station = "bench" }, new RecordingsFolder(_folder), TimeProvider.System);
        recorder.OnBoard(board);
        recorder.Start(new RecordingRequest("bench", "hour", "P-1", ["SCM L", "SCM R", "UT L", "UT R", "SPL L", "SPL R", "LS L", "LS R"]));
        for (int i = 0; i < Rate * Seconds; i++)
        {
            recorder.OnSamples(i, _counts.AsSpan(i * Channels, Channels));
        }
        _path = recorder.Stop()!;
        _outputs = new EnvelopeSample[Rate * Channels];
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_folder, recursive: true);

    [Benchmark(Baseline = true)]
    public long Chain_alone_one_hour_in_memory()
    {
        var chain = new SignalChain(_options, Rate, Channels, 10, 5000);
        long written = 0;
        for (int s = 0; s < Seconds; s++)
        {
            written += chain.Process(_counts.AsSpan(s * Rate * Channels, Rate * Channels), _outputs);
        }
        return written;
    }

    [Benchmark]
    public long Replay_one_hour_from_the_recording_file()
    {
        using var file = new RecordingFile(_path);
        return RecordingProcessor.Run(file, _options);
    }
}
