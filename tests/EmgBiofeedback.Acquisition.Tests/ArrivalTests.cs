using System.Diagnostics;
using System.IO.Pipelines;
using EmgBiofeedback.Protocol;
using Microsoft.Extensions.Logging.Abstractions;

namespace EmgBiofeedback.Acquisition.Tests;

/// <summary>When the bytes of each sample reached the host: recorded by the reader, carried by the loop to the sinks.</summary>
public class ArrivalTests
{
    [Fact]
    public void A_position_gets_the_arrival_of_the_read_that_carried_it()
    {
        var arrivals = new ByteArrivals();
        arrivals.Record(10, timestamp: 100);
        arrivals.Record(5, timestamp: 200);
        arrivals.Record(20, timestamp: 300);

        Assert.Equal([100L, 100, 200, 200, 300, 300], new long[] { 1, 10, 11, 15, 16, 35 }.Select(p => Arrival(arrivals, p)));
        Assert.False(arrivals.TryGetArrival(36, out _)); // not received yet
        arrivals.Record(1, timestamp: 400);
        Assert.Equal(400, Arrival(arrivals, 36));
    }

    [Fact]
    public void A_decoder_that_lags_by_more_than_the_ring_gets_a_later_arrival_never_an_earlier_one()
    {
        var arrivals = new ByteArrivals();
        for (int i = 1; i <= 3 * ByteArrivals.Capacity; i++)
        {
            arrivals.Record(1, timestamp: i * 10);
        }

        long at = Arrival(arrivals, 1); // byte 1 arrived at 10; its entry is long overwritten
        Assert.InRange(at, 2 * ByteArrivals.Capacity * 10, 3 * ByteArrivals.Capacity * 10);
        Assert.Equal(3 * ByteArrivals.Capacity * 10, Arrival(arrivals, 3 * ByteArrivals.Capacity));
    }

    [Fact]
    public void Recording_and_asking_allocate_nothing()
    {
        var arrivals = new ByteArrivals();
        Exercise(arrivals, 0, 10); // warm up
        long before = GC.GetAllocatedBytesForCurrentThread();
        Exercise(arrivals, 10, 100_000);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);

        static void Exercise(ByteArrivals arrivals, int from, int to)
        {
            for (int i = from; i < to; i++)
            {
                arrivals.Record(24, i);
                arrivals.TryGetArrival(24L * i + 1, out _);
            }
        }
    }

    [Fact]
    public async Task The_stamping_writer_records_each_flush_with_the_bytes_written_since_the_previous_one()
    {
        var arrivals = new ByteArrivals();
        var clock = new ManualTimestamps();
        var pipe = new Pipe();
        PipeWriter writer = arrivals.Stamping(pipe.Writer, clock);

        clock.Now = 1000;
        await writer.WriteAsync(new byte[7]);
        clock.Now = 2000;
        writer.GetSpan(3)[..3].Clear();
        writer.Advance(3);
        writer.GetSpan(2)[..2].Clear();
        writer.Advance(2);
        await writer.FlushAsync();
        clock.Now = 3000;
        await writer.FlushAsync(); // nothing new: no batch

        Assert.Equal([1000L, 1000, 2000, 2000], new long[] { 1, 7, 8, 12 }.Select(p => Arrival(arrivals, p)));
        Assert.False(arrivals.TryGetArrival(13, out _));
        ReadResult read = await pipe.Reader.ReadAsync();
        Assert.Equal(12, read.Buffer.Length);
    }

    [Fact]
    public async Task Each_sample_reaches_the_sinks_with_the_arrival_of_the_read_that_completed_its_frame()
    {
        // A board whose bytes come in reads that cut frames anywhere: each sample's arrival is that of the read that
        // carried its frame's last byte.
        var link = new ScriptedLink();
        var sink = new RecordingSink();
        var options = new AcquisitionOptions();
        var loop = new AcquisitionLoop(link, [sink], options, TimeProvider.System, NullLogger<AcquisitionLoop>.Instance);
        using var stop = new CancellationTokenSource();
        Task run = loop.RunAsync(stop.Token);
        ScriptedLink.Connection connection = await link.Connected;

        var board = new BoardInfo(WireFormat.ProtocolVersion, 1, 0, 0, 2, 1000, 10, 5000, true, 0, "scripted");
        var bytes = new byte[WireFormat.MaxFrameSize * 4];
        int hello = FrameEncoder.WriteHello(bytes, board);
        int first = FrameEncoder.WriteSamples(bytes.AsSpan(hello), 0, [1, 2]);
        int second = FrameEncoder.WriteSamples(bytes.AsSpan(hello + first), 1, [3, 4]);
        int third = FrameEncoder.WriteSamples(bytes.AsSpan(hello + first + second), 2, [5, 6]);
        // Read 1 (at 111): the HELLO and the first frame but its last byte; read 2 (at 222): that byte, the second frame
        // and half the third; read 3 (at 333): the rest.
        await connection.SendAsync(bytes.AsMemory(0, hello + first - 1), at: 111);
        await connection.SendAsync(bytes.AsMemory(hello + first - 1, 1 + second + third / 2), at: 222);
        await connection.SendAsync(bytes.AsMemory(hello + first + second + third / 2, third - third / 2), at: 333);

        await Eventually.TrueAsync(() => sink.SampleCount == 3, TimeSpan.FromSeconds(10), "three samples");
        await stop.CancelAsync();
        await run;

        Assert.Equal([0L, 1, 2], sink.Samples.Select(s => s.Index));
        Assert.Equal([222L, 222, 333], sink.Arrivals.Select(a => a.Arrival));
    }

    [Fact]
    public async Task Samples_of_the_simulated_board_carry_the_moment_it_sent_them()
    {
        var sink = new RecordingSink();
        var options = new AcquisitionOptions();
        var loop = new AcquisitionLoop(new SimulatedBoardLink(options.Simulator, 200, TimeProvider.System), [sink], options, TimeProvider.System, NullLogger<AcquisitionLoop>.Instance);
        using var stop = new CancellationTokenSource();
        long start = Stopwatch.GetTimestamp();
        Task run = loop.RunAsync(stop.Token);

        await Eventually.TrueAsync(() => sink.SampleCount >= 2000, TimeSpan.FromSeconds(30), "2 s of samples");
        await stop.CancelAsync();
        await run;

        AssertPlausible(sink.Arrivals, start);
    }

    /// <summary>
    /// Every arrival is after the start, before its sample reached the sink, and not long before (the host is idle but
    /// for this test, so a second is generous); arrivals never go back, and come from many reads.
    /// </summary>
    internal static void AssertPlausible(IReadOnlyList<(long Arrival, long Received)> arrivals, long start)
    {
        Assert.All(arrivals, a =>
        {
            Assert.True(a.Arrival >= start, "an arrival before the start");
            Assert.True(a.Arrival <= a.Received, "an arrival after the sample reached the sink");
            Assert.True(Stopwatch.GetElapsedTime(a.Arrival, a.Received) < TimeSpan.FromSeconds(1), "a sample that took a second to decode");
        });
        Assert.Equal(arrivals.Select(a => a.Arrival).Order(), arrivals.Select(a => a.Arrival));
        Assert.True(arrivals.Select(a => a.Arrival).Distinct().Count() > arrivals.Count / 100, "arrivals from too few reads");
    }

    private static long Arrival(ByteArrivals arrivals, long position)
    {
        Assert.True(arrivals.TryGetArrival(position, out long timestamp), $"no arrival for byte {position}");
        return timestamp;
    }

    private sealed class ManualTimestamps : TimeProvider
    {
        public long Now { get; set; }
        public override long GetTimestamp() => Now;
    }

    /// <summary>A link whose one connection receives the bytes the test sends, stamped as the test says.</summary>
    private sealed class ScriptedLink : IBoardLink
    {
        private readonly TaskCompletionSource<Connection> _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _connections;

        public Task<Connection> Connected => _connected.Task;
        public string Description => "scripted";
        public SourceKind Kind => SourceKind.SerialBoard;

        public ValueTask<IBoardConnection> ConnectAsync(CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _connections) > 1)
            {
                throw new IOException("The scripted board is connected once.");
            }
            var connection = new Connection();
            _connected.SetResult(connection);
            return ValueTask.FromResult<IBoardConnection>(connection);
        }

        public sealed class Connection : IBoardConnection
        {
            private readonly Pipe _pipe = new();

            public PipeReader Input => _pipe.Reader;
            public ByteArrivals Arrivals { get; } = new();

            /// <summary>One read of the port: these bytes, arrived at <paramref name="at"/>.</summary>
            public async Task SendAsync(ReadOnlyMemory<byte> bytes, long at)
            {
                Arrivals.Record(bytes.Length, at);
                await _pipe.Writer.WriteAsync(bytes);
            }

            public ValueTask SendAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken) => ValueTask.CompletedTask;

            public async ValueTask DisposeAsync()
            {
                await _pipe.Writer.CompleteAsync();
                await _pipe.Reader.CompleteAsync();
            }
        }
    }
}
