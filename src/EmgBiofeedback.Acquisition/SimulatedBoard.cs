using System.Buffers;
using System.Buffers.Binary;
using EmgBiofeedback.Protocol;

namespace EmgBiofeedback.Acquisition;

/// <summary>
/// The board's behaviour in software: the same frames and commands as the firmware (docs/protocol.md),
/// producing <see cref="SyntheticEmg"/>. Pure state: the caller decides when sample instants happen.
/// </summary>
public sealed class SimulatedBoard
{
    public const int AdcBits = 10;
    public const int ReferenceMillivolts = 5000;
    public const string Name = "simulated";

    private readonly SimulatorOptions _options;
    private readonly FrameDecoder _commands = new();
    private readonly ushort[] _counts = new ushort[WireFormat.MaxChannels];
    private readonly double _sensorGain;
    private SyntheticEmg _signal;
    private long _instant;

    public SimulatedBoard(SimulatorOptions options, double sensorGain)
    {
        _options = options;
        _sensorGain = sensorGain;
        Channels = options.Channels;
        SampleRateHz = options.SampleRateHz;
        _signal = new SyntheticEmg(options, sensorGain, Channels, SampleRateHz, AdcBits, ReferenceMillivolts);
    }

    public int Channels { get; private set; }
    public int SampleRateHz { get; private set; }
    public bool Streaming { get; private set; } = true;

    /// <summary>The sequence number the next SAMPLES frame will carry.</summary>
    public uint NextSequence { get; private set; }

    public IReadOnlyList<MusclePattern> Muscles => _signal.Muscles;

    public int MaxFrameSize => WireFormat.SamplesFrameSize(WireFormat.MaxChannels);

    public BoardInfo Describe() => new(
        WireFormat.ProtocolVersion, 1, 0, 0, Channels, SampleRateHz, AdcBits, ReferenceMillivolts, Streaming, NextSequence, Name);

    public int WriteHello(Span<byte> destination) => FrameEncoder.WriteHello(destination, Describe());

    /// <summary>
    /// Samples one instant and writes its SAMPLES frame; writes nothing (returns 0) while stopped.
    /// </summary>
    public int WriteNextFrame(Span<byte> destination)
    {
        Span<ushort> counts = _counts.AsSpan(0, Channels);
        return TrySampleNext(counts, out uint sequence) ? FrameEncoder.WriteSamples(destination, sequence, counts) : 0;
    }

    /// <summary>Samples one instant (while streaming): the counts the next SAMPLES frame carries.</summary>
    public bool TrySampleNext(Span<ushort> counts, out uint sequence)
    {
        sequence = NextSequence;
        if (!Streaming)
        {
            return false;
        }
        _signal.Fill(_instant++, counts[..Channels]);
        NextSequence++;
        return true;
    }

    /// <summary>Executes the command frames in <paramref name="input"/> and writes the board's answers.</summary>
    /// <returns>Bytes written to <paramref name="responses"/> (room for 2 frames per command is enough).</returns>
    public int HandleCommands(ReadOnlySequence<byte> input, Span<byte> responses)
    {
        var reader = new SequenceReader<byte>(input);
        int written = 0;
        while (_commands.TryReadFrame(ref reader, out Frame frame))
        {
            written += Execute(frame, responses[written..]);
        }
        return written;
    }

    private int Execute(Frame frame, Span<byte> responses)
    {
        ReadOnlySpan<byte> payload = frame.Payload;
        switch (frame.Type)
        {
            case MessageType.Start:
                Streaming = true;
                return FrameEncoder.WriteAck(responses, frame.Type, AckResult.Ok);
            case MessageType.Stop:
                Streaming = false;
                return FrameEncoder.WriteAck(responses, frame.Type, AckResult.Ok);
            case MessageType.Identify:
                return WriteHello(responses);
            case MessageType.SetRate when payload.Length == 2:
                int rate = BinaryPrimitives.ReadUInt16LittleEndian(payload);
                if (rate is < 100 or > 4000)
                {
                    return FrameEncoder.WriteAck(responses, frame.Type, AckResult.ArgumentOutOfRange);
                }
                Reconfigure(Channels, rate);
                return AckThenHello(frame.Type, responses);
            case MessageType.SetChannels when payload.Length == 1:
                if (payload[0] is < 1 or > WireFormat.MaxChannels)
                {
                    return FrameEncoder.WriteAck(responses, frame.Type, AckResult.ArgumentOutOfRange);
                }
                Reconfigure(payload[0], SampleRateHz);
                return AckThenHello(frame.Type, responses);
            case MessageType.SetRate or MessageType.SetChannels:
                return FrameEncoder.WriteAck(responses, frame.Type, AckResult.Malformed);
            default:
                return FrameEncoder.WriteAck(responses, frame.Type, AckResult.UnknownCommand);
        }
    }

    private int AckThenHello(MessageType command, Span<byte> responses)
    {
        int n = FrameEncoder.WriteAck(responses, command, AckResult.Ok);
        return n + WriteHello(responses[n..]);
    }

    private void Reconfigure(int channels, int rate)
    {
        if (channels == Channels && rate == SampleRateHz)
        {
            return;
        }
        Channels = channels;
        SampleRateHz = rate;
        _signal = new SyntheticEmg(_options, _sensorGain, channels, rate, AdcBits, ReferenceMillivolts);
        _instant = 0;
    }
}
