using System.Buffers;
using EmgBiofeedback.Protocol;
using Microsoft.Extensions.Logging.Abstractions;

namespace EmgBiofeedback.Acquisition.Tests;

/// <summary>
/// A HELLO lost on the line. The end-to-end run of issue 18 restarted the service after a kill while the line still held
/// seconds of stale bytes; the board's answer to IDENTIFY was lost, and the service, having asked once, discarded every
/// sample of a streaming board for good. The host must ask again until the board says HELLO.
/// </summary>
public class LostHelloTests
{
    [Fact]
    public async Task A_HELLO_lost_on_the_line_is_asked_for_again_and_the_stream_is_processed()
    {
        // The simulated board behind one pty pair; a line that swallows the board's first HELLO forwards to a second pair,
        // whose host end the acquisition opens: the real serial path with one frame lost.
        await using SocatPtyPair board = await SocatPtyPair.StartAsync();
        await using SocatPtyPair host = await SocatPtyPair.StartAsync();
        var simulator = new SimulatorOptions { Channels = 8, SampleRateHz = 1000 };
        var boardPort = new SimulatedBoardPort(new SimulatedBoardDriver(new SimulatedBoard(simulator, 200), TimeProvider.System), board.BoardEnd, TimeProvider.System);
        var options = new AcquisitionOptions { Serial = { PortName = host.HostEnd }, ReconnectMaxDelay = TimeSpan.FromMilliseconds(300) };
        var sink = new RecordingSink();
        var loop = new AcquisitionLoop(new SerialBoardLink(options.Serial), [sink], options, TimeProvider.System, NullLogger<AcquisitionLoop>.Instance);
        using var stop = new CancellationTokenSource();
        Task boardTask = boardPort.RunAsync(stop.Token);
        // The first two HELLOs (a boot HELLO, if any, and the answer to the host's IDENTIFY) are lost.
        int hellos = 0;
        Task toHost = Task.Run(() => Forward(board.HostEnd, host.BoardEnd, dropHello: () => Interlocked.Increment(ref hellos) <= 2, stop.Token));
        Task toBoard = Task.Run(() => Forward(host.BoardEnd, board.HostEnd, dropHello: null, stop.Token));
        Task acquisition = loop.RunAsync(stop.Token);

        await Eventually.TrueAsync(() => sink.SampleCount >= 1000, TimeSpan.FromSeconds(30), "samples processed after the lost HELLO");
        await stop.CancelAsync();
        await acquisition;

        Assert.True(hellos >= 3, $"the line saw {hellos} HELLOs: it dropped two and let the next through");
        Assert.True(loop.HelloRequests >= 1, "the host never asked again");
        Assert.Equal(0, loop.Reconnects); // asked again on the same connection, no replug needed
        Assert.Single(sink.Boards);
    }

    /// <summary>Copies bytes from one pty link to another, frame-aware so that it can swallow HELLOs whole while
    /// <paramref name="dropHello"/> says so.</summary>
    private static void Forward(string from, string to, Func<bool>? dropHello, CancellationToken stop)
    {
        using var input = new FileStream(from, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 0);
        using var output = new FileStream(to, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 0);
        using CancellationTokenRegistration closing = stop.Register(input.Dispose);
        var frames = new FrameDecoder();
        var pending = new ArrayBufferWriter<byte>();
        byte[] buffer = new byte[4096];
        bool dropped = false;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                int n = input.Read(buffer);
                if (n <= 0)
                {
                    return;
                }
                if (dropHello is null || dropped)
                {
                    output.Write(buffer, 0, n);
                    continue;
                }
                pending.Write(buffer.AsSpan(0, n));
                var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(pending.WrittenMemory));
                long start = 0;
                while (frames.TryReadFrame(ref reader, out Frame frame))
                {
                    long end = reader.Consumed;
                    if (frame.Type == MessageType.Hello)
                    {
                        if (!dropHello())
                        {
                            dropped = true; // from here on the line is clean
                            continue;
                        }
                        output.Write(pending.WrittenSpan[(int)start..(int)(end - frame.WireLength)]);
                        start = end;
                    }
                }
                long keep = reader.Consumed;
                output.Write(pending.WrittenSpan[(int)start..(int)keep]);
                byte[] rest = pending.WrittenSpan[(int)keep..].ToArray();
                pending.Clear();
                pending.Write(rest);
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException)
        {
        }
    }
}
