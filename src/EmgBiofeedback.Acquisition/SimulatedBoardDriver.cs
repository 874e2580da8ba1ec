using System.Buffers;
using System.IO.Pipelines;
using System.Threading.Channels;

namespace EmgBiofeedback.Acquisition;

/// <summary>
/// Runs a <see cref="SimulatedBoard"/> in real time: every millisecond it emits the sample instants that
/// are due by the clock (so the rate is exact on average however late a tick wakes), and answers commands.
/// The board's timeline survives a lost line, as a powered board's does: instants that fall due while no
/// one is listening are sampled and thrown away, and the sequence numbers show the gap.
/// </summary>
public sealed class SimulatedBoardDriver(SimulatedBoard board, TimeProvider time)
{
    private readonly byte[] _scratch = new byte[4096];
    private long _originTimestamp = -1;
    private long _instantsDue;
    private int _originRate;

    public SimulatedBoard Board => board;

    /// <summary>
    /// Wall-clock time of sample instant 0 of the current timeline: instant n falls due at this time plus n over
    /// the rate (and is written at the next millisecond tick). Set when the driver starts and when the rate changes;
    /// a latency probe relates a sample index to the moment the board produced it through it.
    /// </summary>
    public DateTimeOffset OriginUtc { get; private set; }

    /// <summary>Rate of the current timeline (samples per second from <see cref="OriginUtc"/>).</summary>
    public int OriginRateHz => _originRate;

    /// <summary>Streams until <paramref name="cancellationToken"/> fires or writing fails (an IOException).</summary>
    public async Task RunAsync(PipeWriter output, ChannelReader<byte[]> commands, CancellationToken cancellationToken)
    {
        DiscardInstantsMissedWhileAway();
        Write(output, board.WriteHello(output.GetSpan(board.MaxFrameSize)));
        await output.FlushAsync(cancellationToken).ConfigureAwait(false);

        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(1), time);
        while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
        {
            while (commands.TryRead(out byte[]? command))
            {
                int n = board.HandleCommands(new ReadOnlySequence<byte>(command), _scratch);
                _scratch.AsSpan(0, n).CopyTo(output.GetSpan(n));
                output.Advance(n);
                if (board.SampleRateHz != _originRate)
                {
                    Restart();
                }
            }
            for (long due = InstantsDueNow(); _instantsDue < due; _instantsDue++)
            {
                Write(output, board.WriteNextFrame(output.GetSpan(board.MaxFrameSize)));
            }
            FlushResult flush = await output.FlushAsync(cancellationToken).ConfigureAwait(false);
            if (flush.IsCompleted)
            {
                return;
            }
        }
    }

    private static void Write(PipeWriter output, int bytes) => output.Advance(bytes);

    private void DiscardInstantsMissedWhileAway()
    {
        if (_originTimestamp < 0)
        {
            Restart();
            return;
        }
        for (long due = InstantsDueNow(); _instantsDue < due; _instantsDue++)
        {
            board.WriteNextFrame(_scratch);
        }
    }

    private long InstantsDueNow() =>
        (long)(time.GetElapsedTime(_originTimestamp).TotalSeconds * _originRate);

    private void Restart()
    {
        _originTimestamp = time.GetTimestamp();
        OriginUtc = time.GetUtcNow();
        _originRate = board.SampleRateHz;
        _instantsDue = 0;
    }
}
