using System.IO.Pipelines;
using System.Threading.Channels;

namespace EmgBiofeedback.Acquisition;

/// <summary>The built-in simulated board, connected in-process: the host's default with no serial port.</summary>
public sealed class SimulatedBoardLink(SimulatorOptions options, double sensorGain, TimeProvider time) : IBoardLink
{
    public SourceKind Kind => SourceKind.SimulatedBoard;

    private readonly SimulatedBoardDriver _driver = new(new SimulatedBoard(options, sensorGain), time);

    public string Description => $"simulated board ({options.Channels} ch x {options.SampleRateHz} Hz)";

    public ValueTask<IBoardConnection> ConnectAsync(CancellationToken cancellationToken) =>
        ValueTask.FromResult<IBoardConnection>(new Connection(_driver, time));

    private sealed class Connection : IBoardConnection
    {
        private readonly Pipe _pipe = new(new PipeOptions(useSynchronizationContext: false));
        private readonly Channel<byte[]> _commands = Channel.CreateBounded<byte[]>(16);
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _run;

        public Connection(SimulatedBoardDriver driver, TimeProvider time)
        {
            // The board's flush is the moment its bytes are sent: their arrival, as a serial port's read would see it.
            PipeWriter output = Arrivals.Stamping(_pipe.Writer, time);
            _run = Task.Run(async () =>
            {
                try
                {
                    await driver.RunAsync(output, _commands.Reader, _stop.Token).ConfigureAwait(false);
                    await _pipe.Writer.CompleteAsync().ConfigureAwait(false);
                }
                catch (OperationCanceledException e)
                {
                    await _pipe.Writer.CompleteAsync(e).ConfigureAwait(false);
                }
            });
        }

        public PipeReader Input => _pipe.Reader;

        public ByteArrivals Arrivals { get; } = new();

        public ValueTask SendAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken) =>
            _commands.Writer.WriteAsync(frame.ToArray(), cancellationToken);

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync().ConfigureAwait(false);
            await _run.ConfigureAwait(false);
            await _pipe.Reader.CompleteAsync().ConfigureAwait(false);
            _stop.Dispose();
        }
    }
}
