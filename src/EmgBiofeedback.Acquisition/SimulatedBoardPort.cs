using System.IO.Pipelines;
using System.Threading.Channels;
using EmgBiofeedback.Protocol;

namespace EmgBiofeedback.Acquisition;

/// <summary>
/// The simulated board behind a serial device: it writes its frames into one end of a pseudo-terminal pair
/// (socat) so that the host's real serial path reads them from the other. When the device goes away it
/// keeps sampling (the instants are lost, and the sequence numbers say so) and reopens the device when it
/// returns.
/// </summary>
public sealed class SimulatedBoardPort(SimulatedBoardDriver driver, string devicePath, TimeProvider time)
{
    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(50);

    /// <summary>Times the device was (re)opened.</summary>
    public int Connections { get; private set; }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            FileStream output, input;
            try
            {
                output = new FileStream(devicePath, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0);
                input = new FileStream(devicePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0);
            }
            catch (IOException)
            {
                await Task.Delay(RetryDelay, time, cancellationToken).ConfigureAwait(false);
                continue;
            }
            Connections++;
            await using (output.ConfigureAwait(false))
            await using (input.ConfigureAwait(false))
            {
                using var lineDown = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                var commands = Channel.CreateBounded<byte[]>(16);
                Task reading = ReadCommandsAsync(input, commands.Writer, lineDown.Token);
                try
                {
                    await driver.RunAsync(PipeWriter.Create(output), commands.Reader, cancellationToken).ConfigureAwait(false);
                }
                catch (IOException)
                {
                    // The other end vanished (socat stopped: the closest thing to an unplug).
                }
                await lineDown.CancelAsync().ConfigureAwait(false);
                // A read blocked on a live pty is not interrupted by cancellation; it ends with the device.
                await Task.WhenAny(reading, Task.Delay(RetryDelay, time, CancellationToken.None)).ConfigureAwait(false);
            }
        }
    }

    private static async Task ReadCommandsAsync(Stream input, ChannelWriter<byte[]> commands, CancellationToken cancellationToken)
    {
        var buffer = new byte[WireFormat.MaxFrameSize];
        try
        {
            while (true)
            {
                int n = await input.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
                if (n == 0)
                {
                    return;
                }
                await commands.WriteAsync(buffer.AsSpan(0, n).ToArray(), cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException)
        {
            // The line went down or the board is stopping; the writer side handles reconnecting.
        }
    }
}
