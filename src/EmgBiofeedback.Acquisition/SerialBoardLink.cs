using System.IO.Pipelines;
using System.IO.Ports;

namespace EmgBiofeedback.Acquisition;

/// <summary>
/// A board on a serial port (a USB-serial Arduino, or a pseudo-terminal in tests) through System.IO.Ports.
/// One dedicated thread blocks in <c>BaseStream.Read</c> and writes into a pipe; the decoder reads the
/// pipe. Not <c>DataReceived</c>: on Unix it adds a millisecond and more CPU (../shared/notes/serial.md). The read
/// thread stamps each read's bytes with the moment they arrived (<see cref="ByteArrivals"/>), where the service's
/// latency starts; <paramref name="time"/> (default: the system's) must be the acquisition loop's.
/// </summary>
public sealed class SerialBoardLink(SerialOptions options, TimeProvider? time = null) : IBoardLink
{
    public SourceKind Kind => SourceKind.SerialBoard;

    public string Description => $"serial {options.PortName} @ {options.BaudRate}";

    /// <summary>Serial ports the operating system knows of (on Linux: /dev/ttyS*, ttyUSB*, ttyACM*...).</summary>
    public static IReadOnlyList<string> AvailablePorts() => SerialPort.GetPortNames();

    public ValueTask<IBoardConnection> ConnectAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        // SerialPort reports a missing device as UnauthorizedAccessException on Unix; give the caller the
        // plain truth instead of a misleading message.
        if (!OperatingSystem.IsWindows() && !File.Exists(options.PortName))
        {
            throw new FileNotFoundException($"Serial device {options.PortName} does not exist.", options.PortName);
        }
        var port = new SerialPort(options.PortName, options.BaudRate, Parity.None, 8, StopBits.One)
        {
            Handshake = Handshake.None,
            ReadBufferSize = 1 << 16,
            WriteTimeout = 1000,
        };
        try
        {
            port.Open();
        }
        catch (UnauthorizedAccessException e)
        {
            port.Dispose();
            throw new IOException($"Cannot open {options.PortName}: {e.Message}", e);
        }
        catch
        {
            port.Dispose();
            throw;
        }
        return ValueTask.FromResult<IBoardConnection>(new Connection(port, time ?? TimeProvider.System));
    }

    private sealed class Connection : IBoardConnection
    {
        // The pipe pauses the reader thread if the decoder falls 1 MiB behind: a serial line cannot be
        // slowed, so at that point the kernel's buffer overflows and the sequence numbers show the loss.
        private readonly Pipe _pipe = new(new PipeOptions(pauseWriterThreshold: 1 << 20, resumeWriterThreshold: 1 << 19, useSynchronizationContext: false));
        private readonly SerialPort _port;
        private readonly Thread _reader;
        private readonly SemaphoreSlim _writeLock = new(1, 1);
        private readonly TimeProvider _time;

        public Connection(SerialPort port, TimeProvider time)
        {
            _port = port;
            _time = time;
            _reader = new Thread(ReadLoop) { IsBackground = true, Name = $"serial-read {port.PortName}" };
            _reader.Start();
        }

        public PipeReader Input => _pipe.Reader;

        public ByteArrivals Arrivals { get; } = new();

        private void ReadLoop()
        {
            PipeWriter writer = _pipe.Writer;
            Stream stream = _port.BaseStream;
            try
            {
                while (true)
                {
                    Memory<byte> memory = writer.GetMemory(4096);
                    int read = stream.Read(memory.Span);
                    if (read == 0)
                    {
                        throw new EndOfStreamException($"{_port.PortName} returned end of stream.");
                    }
                    // Stamped before the decoder can see the bytes, so every byte it reads has its arrival.
                    Arrivals.Record(read, _time.GetTimestamp());
                    writer.Advance(read);
                    FlushResult flush = writer.FlushAsync().AsTask().GetAwaiter().GetResult();
                    if (flush.IsCompleted)
                    {
                        break;
                    }
                }
                writer.Complete();
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException or OperationCanceledException or UnauthorizedAccessException)
            {
                // The device went away or the connection is being disposed: the decode loop sees the
                // reason as the pipe's completion.
                writer.Complete(e);
            }
        }

        public async ValueTask SendAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken)
        {
            await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await _port.BaseStream.WriteAsync(frame, cancellationToken).ConfigureAwait(false);
                await _port.BaseStream.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                _writeLock.Release();
            }
        }

        public async ValueTask DisposeAsync()
        {
            _pipe.Reader.Complete();
            try
            {
                _port.Close();
            }
            catch (IOException)
            {
                // Closing a port whose device is gone can fail; it is closed either way.
            }
            await Task.Run(() => _reader.Join(TimeSpan.FromSeconds(5))).ConfigureAwait(false);
            _port.Dispose();
            _writeLock.Dispose();
        }
    }
}
