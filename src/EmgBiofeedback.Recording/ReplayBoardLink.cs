using System.IO.Pipelines;
using EmgBiofeedback.Acquisition;
using EmgBiofeedback.Protocol;

namespace EmgBiofeedback.Recording;

/// <summary>
/// A recording as a board: re-encodes its samples as protocol frames (HELLO, then SAMPLES whose sequence numbers
/// skip exactly the recorded gaps) so replay runs through the live path unchanged: decoder, AcquisitionLoop,
/// LivePipeline. <paramref name="speed"/> 1 is real time, N is N times faster, 0 is as fast as the reader takes
/// the bytes (the pipe's backpressure paces it). After the last frame the link completes its stream; the next
/// connection attempt finds it idle and completes <see cref="Completion"/>. <paramref name="startSeconds"/> starts
/// part-way (a seek): the HELLO then names the first instant sent, so the start is not reported as a gap.
/// </summary>
public sealed class ReplayBoardLink(string path, double speed, TimeProvider time, double startSeconds = 0, IReadOnlyList<string>? signals = null) : IBoardLink
{
    public SourceKind Kind => SourceKind.Replay;

    private const int FramesPerFlush = 256;

    /// <summary>The longest a paced replay waits through a gap between two records (EDF+D), seconds of recording.</summary>
    public const double MaxGapWaitSeconds = 2;
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _connections;

    public string Description => $"replay of {System.IO.Path.GetFileName(path)} at {(speed <= 0 ? "max speed" : $"{speed}x")}{(startSeconds > 0 ? $" from {startSeconds:0.###} s" : "")}";

    public string Path => path;

    /// <summary>The signals replayed, by label; null: the file's voltage signals at their most common rate.</summary>
    public IReadOnlyList<string>? Signals => signals;
    public double Speed => speed;
    public double StartSeconds => startSeconds;

    /// <summary>Completes when the whole recording has been read by the acquisition loop (it reconnected after the end).</summary>
    public Task Completion => _completion.Task;

    /// <summary>SAMPLES frames sent so far.</summary>
    public long FramesSent => Interlocked.Read(ref _framesSent);
    private long _framesSent;

    public ValueTask<IBoardConnection> ConnectAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Increment(ref _connections) > 1)
        {
            _completion.TrySetResult();
            return ValueTask.FromResult<IBoardConnection>(new Connection(null));
        }
        RecordingFile file = Open(path, signals); // throws FileNotFound / InvalidData before anything streams
        var connection = new Connection(pipe => Task.Run(() => StreamAsync(file, pipe, connectionToken(pipe)))) { Scales = file.Scales };
        return ValueTask.FromResult<IBoardConnection>(connection);

        static CancellationToken connectionToken(Connection.Context c) => c.Token;
    }

    /// <summary>Opens a recording for replay; an <see cref="InvalidDataException"/> says why one cannot be replayed.</summary>
    public static RecordingFile Open(string path, IReadOnlyList<string>? signals = null)
    {
        var file = new RecordingFile(path, signals);
        if (file.ReplayRefusal() is { } why)
        {
            file.Dispose();
            throw new InvalidDataException($"{System.IO.Path.GetFileName(path)} cannot be replayed: {why}.");
        }
        return file;
    }

    private async Task StreamAsync(RecordingFile file, Connection.Context context, CancellationToken cancellationToken)
    {
        PipeWriter output = context.Writer;
        try
        {
            using (file)
            {
                int rate = file.Board.SampleRateHz, channels = file.ChannelCount, perRecord = file.SamplesPerRecord;
                long firstInstant = Math.Min((long)Math.Floor(startSeconds * rate), file.Instants);
                Write(output, FrameEncoder.WriteHello(output.GetSpan(WireFormat.MaxFrameSize), file.Board with { NextSequence = unchecked((uint)firstInstant) }));
                // Counts that fit 16 bits go as SAMPLES frames, exactly as a board sends them; wider ones (a BDF's 24
                // bits) as WIDE_SAMPLES, through the same decoder and loop.
                bool wide = !file.FitsUInt16;
                var counts = new ushort[wide ? 0 : perRecord * channels];
                var wideCounts = new int[wide ? perRecord * channels : 0];
                var recorded = new bool[perRecord];
                int frameSize = wide ? WireFormat.WideSamplesFrameSize(channels) : WireFormat.SamplesFrameSize(channels);
                long startTimestamp = time.GetTimestamp();
                int sinceFlush = 0;
                long expected = firstInstant, notWaited = 0;
                for (long r = 0; r < file.RecordCount; r++)
                {
                    long instant = file.RecordStarts[r];
                    if (instant + perRecord <= firstInstant)
                    {
                        continue;
                    }
                    // A paced replay waits through an EDF+D gap for at most MaxGapWaitSeconds: the gap is still a
                    // gap (its sequence numbers are skipped), but a recording with a day between two records does not
                    // leave the station silent for a day.
                    long jump = instant - Math.Max(expected, firstInstant);
                    notWaited += Math.Max(0, jump - (long)(MaxGapWaitSeconds * rate));
                    expected = instant + perRecord;
                    if (wide)
                    {
                        file.ReadRecord(r, wideCounts, recorded);
                    }
                    else
                    {
                        file.ReadRecord(r, counts, recorded);
                    }
                    for (int i = 0; i < perRecord; i++, instant++)
                    {
                        if (!recorded[i] || instant < firstInstant)
                        {
                            continue; // a filled instant: its sequence number is skipped, so the decoder sees the gap
                        }
                        Write(output, wide
                            ? FrameEncoder.WriteWideSamples(output.GetSpan(frameSize), unchecked((uint)instant), wideCounts.AsSpan(i * channels, channels))
                            : FrameEncoder.WriteSamples(output.GetSpan(frameSize), unchecked((uint)instant), counts.AsSpan(i * channels, channels)));
                        Interlocked.Increment(ref _framesSent);
                        if (++sinceFlush < FramesPerFlush && speed <= 0)
                        {
                            continue;
                        }
                        if (speed > 0 && (i + 1) % Math.Max(1, rate / 100) != 0)
                        {
                            continue; // paced replay flushes about every 10 ms of recording
                        }
                        sinceFlush = 0;
                        FlushResult flush = await output.FlushAsync(cancellationToken).ConfigureAwait(false);
                        if (flush.IsCompleted)
                        {
                            return;
                        }
                        if (speed > 0)
                        {
                            TimeSpan due = TimeSpan.FromSeconds((instant + 1 - firstInstant - notWaited) / (rate * speed));
                            TimeSpan wait = due - time.GetElapsedTime(startTimestamp);
                            if (wait > TimeSpan.Zero)
                            {
                                await Task.Delay(wait, time, cancellationToken).ConfigureAwait(false);
                            }
                        }
                    }
                }
                await output.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
            await output.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            await output.CompleteAsync(e).ConfigureAwait(false);
        }
    }

    private static void Write(PipeWriter output, int bytes) => output.Advance(bytes);

    private sealed class Connection : IBoardConnection
    {
        private readonly Pipe _pipe = new(new PipeOptions(pauseWriterThreshold: 1 << 20, resumeWriterThreshold: 1 << 19, useSynchronizationContext: false));
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _run;

        public sealed record Context(PipeWriter Writer, CancellationToken Token);

        public Connection(Func<Context, Task>? run)
        {
            _run = run is null ? Task.CompletedTask : run(new Context(_pipe.Writer, _stop.Token));
        }

        public PipeReader Input => _pipe.Reader;

        public IReadOnlyList<ChannelScale>? Scales { get; init; }

        /// <summary>Commands are accepted and ignored: a recording cannot change its rate or channels.</summary>
        public ValueTask SendAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync().ConfigureAwait(false);
            await _run.ConfigureAwait(false);
            await _pipe.Reader.CompleteAsync().ConfigureAwait(false);
            await _pipe.Writer.CompleteAsync().ConfigureAwait(false);
            _stop.Dispose();
        }
    }
}
