using System.IO.Pipelines;
using EmgBiofeedback.Acquisition;
using EmgBiofeedback.Dsp;
using EmgBiofeedback.Pipeline;
using EmgBiofeedback.Protocol;
using EmgBiofeedback.Recording;
using EmgBiofeedback.Sessions;
using SessionOptions = EmgBiofeedback.Server.SessionOptions;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace EmgBiofeedback.Server.Tests;

/// <summary>
/// The session: 1% garbage bytes on the serial line and a marker flood, through the real decoder and
/// acquisition loop into the recorder, with markers going through the session's limits.
/// </summary>
public sealed class NoisyLineSessionTests : IDisposable
{
    private const int Seconds = 20;
    private readonly string _folder = Directory.CreateTempSubdirectory("emg-noisy-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task A_session_with_1_percent_garbage_and_a_marker_flood_records_its_duration_the_boards_values_and_every_marker_or_its_loss()
    {
        // The board's stream: HELLO, then 20 s of frames with a garbage byte inserted after 1% of the bytes
        // (seeded); the last 50 frames are clean so that the stream does not end inside a loss.
        var board = new SimulatedBoard(new SimulatorOptions(), 200);
        BoardInfo info = board.Describe();
        int rate = info.SampleRateHz;
        var sampled = new List<ushort[]>();
        var bytes = new List<byte>();
        var frame = new byte[board.MaxFrameSize + 64];
        bytes.AddRange(frame.AsSpan(0, board.WriteHello(frame)).ToArray());
        var rng = new Random(20_260_412);
        var counts = new ushort[info.ChannelCount];
        long garbage = 0;
        for (int i = 0; i < Seconds * rate; i++)
        {
            board.TrySampleNext(counts, out uint sequence);
            sampled.Add(counts.ToArray());
            int n = FrameEncoder.WriteSamples(frame, sequence, counts);
            foreach (byte b in frame.AsSpan(0, n))
            {
                bytes.Add(b);
                if (i < Seconds * rate - 50 && rng.NextDouble() < 0.01)
                {
                    bytes.Add((byte)rng.Next(256));
                    garbage++;
                }
            }
        }

        var time = new InstantClock(rate);
        var pipeline = new LivePipeline(new SignalChainOptions(), [], TimeProvider.System);
        var recorder = new Recorder(new RecorderOptions { Station = "bench-2" }, new RecordingsFolder(_folder), TimeProvider.System);
        var observer = new MarkerObserver();
        var sessions = new SessionManager(pipeline, time, [observer], Options.Create(new SessionOptions()), recorder,
            recording: Options.Create(new RecorderOptions { Station = "bench-2" }));
        var flood = new MarkerFlood(sessions, time, rate);
        var link = new OneStreamLink(bytes.ToArray());
        var loop = new AcquisitionLoop(link, [recorder, flood], new AcquisitionOptions(), TimeProvider.System, NullLogger<AcquisitionLoop>.Instance);
        sessions.Start("P-7F3A", Montage.Create([]), 0);
        using var stop = new CancellationTokenSource();
        Task run = loop.RunAsync(stop.Token);
        await link.Drained.WaitAsync(TimeSpan.FromSeconds(60));
        await stop.CancelAsync();
        await run;
        string path = recorder.CurrentPath!;
        sessions.Stop(loop.Counters.LostFrames);

        Assert.True(loop.Counters.LostFrames > 1000, $"{loop.Counters.LostFrames} frames lost to {garbage} garbage bytes"); // the line was noisy
        Assert.True(flood.Refused > 0 && flood.Accepted > 0, $"{flood.Accepted} accepted, {flood.Refused} refused");
        using var reader = new BdfReader(path);
        Assert.Equal(Seconds, reader.RecordCount); // the file is as long as the session: nothing invented

        // Every recorded instant holds the board's counts; the filled ones are exactly the lost ones.
        var fills = new List<(long Start, long Count, bool IsGap)>();
        IReadOnlyList<BdfAnnotation> notes = reader.ReadAnnotations();
        foreach (BdfAnnotation a in notes)
        {
            RecordingLayout.TryParseFills(a, rate, fills);
        }
        var filled = fills.SelectMany(f => Enumerable.Range(0, (int)f.Count).Select(k => f.Start + k)).ToHashSet();
        Assert.Equal(Seconds * rate - flood.Delivered.Count, filled.Count);
        var digital = new int[reader.SamplesPerRecord];
        int channels = info.ChannelCount;
        for (long r = 0; r < reader.RecordCount; r++)
        {
            reader.ReadRecord(r, digital);
            for (int i = 0; i < rate; i++)
            {
                long at = r * rate + i;
                Assert.Equal(flood.Delivered.Contains(at), !filled.Contains(at));
                if (!filled.Contains(at))
                {
                    for (int c = 0; c < channels; c++)
                    {
                        Assert.Equal(sampled[(int)(at + flood.Origin)][c], digital[c * rate + i]);
                    }
                }
            }
        }

        // Every marker the session accepted is in the file or counted as lost (and the loss is said in the file).
        HashSet<string> texts = notes.Select(a => a.Text).ToHashSet();
        int inFile = observer.Accepted.Count(texts.Contains);
        Assert.Equal(flood.Accepted, observer.Accepted.Count);
        Assert.Equal(flood.Accepted, inFile + recorder.AnnotationsLostInFile);
        if (recorder.AnnotationsLostInFile > 0)
        {
            Assert.Contains(RecordingLayout.LostText(recorder.AnnotationsLostInFile), texts);
        }
    }

    /// <summary>A clock that follows the stream (instant / rate), so the marker limit sees the session's own time.</summary>
    private sealed class InstantClock(int rate) : TimeProvider
    {
        private static readonly DateTimeOffset Start = new(2026, 4, 12, 9, 0, 0, TimeSpan.Zero);
        public long Instant { get; set; }
        public override DateTimeOffset GetUtcNow() => Start.AddSeconds(Instant / (double)rate);
    }

    private sealed class MarkerObserver : ISessionObserver
    {
        public List<string> Accepted { get; } = [];

        public void SessionStarted(Session session, IReadOnlyList<string> labels, long firstSampleIndex)
        {
        }

        public void SessionEnded(Session session, long endSampleIndex)
        {
        }

        public void SessionStopped(StoppedSession stopped)
        {
        }

        public void Annotated(ClinicalAnnotation annotation, DateTimeOffset time) => Accepted.Add(annotation.Text);
    }

    /// <summary>A client hammering AddMarker: 30 attempts every 10 ms of the stream, on the acquisition thread.</summary>
    private sealed class MarkerFlood(SessionManager sessions, InstantClock time, int rate) : IAcquisitionSink
    {
        private long _origin = -1;
        public long Origin => _origin;
        public HashSet<long> Delivered { get; } = [];
        public int Accepted { get; private set; }
        public int Refused { get; private set; }

        public void OnBoard(BoardInfo board)
        {
        }

        public void OnSamples(long sampleIndex, ReadOnlySpan<ushort> counts)
        {
            if (_origin < 0)
            {
                _origin = sampleIndex;
            }
            long at = sampleIndex - _origin;
            Delivered.Add(at);
            time.Instant = at;
            if (at % (rate / 100) != 0)
            {
                return;
            }
            for (int k = 0; k < 30; k++)
            {
                try
                {
                    sessions.AddMarker($"flood {at}.{k}");
                    Accepted++;
                }
                catch (SessionLimitException)
                {
                    Refused++;
                }
            }
        }

        public void OnGap(SampleGap gap)
        {
        }

        public void OnEvent(AcquisitionEvent acquisitionEvent)
        {
        }
    }

    /// <summary>A board link whose first connection delivers <paramref name="stream"/>; later ones wait (the board is gone).</summary>
    private sealed class OneStreamLink(byte[] stream) : IBoardLink
    {
        private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _connections;

        public Task Drained => _drained.Task;

        public string Description => "noisy line";

        public SourceKind Kind => SourceKind.SerialBoard;

        public async ValueTask<IBoardConnection> ConnectAsync(CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _connections) > 1)
            {
                _drained.TrySetResult();
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            return new Connection(PipeReader.Create(new MemoryStream(stream), new StreamPipeReaderOptions(bufferSize: 4096)));
        }

        private sealed class Connection(PipeReader input) : IBoardConnection
        {
            public PipeReader Input => input;

            public ValueTask SendAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken) => ValueTask.CompletedTask;

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }
}
