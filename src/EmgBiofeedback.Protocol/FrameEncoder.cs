using System.Buffers.Binary;

namespace EmgBiofeedback.Protocol;

/// <summary>
/// Writes frames of docs/protocol.md into caller-owned buffers. Used by the simulated board, the host's
/// command sender and the tests; allocation-free. Each method returns the number of bytes written.
/// </summary>
public static class FrameEncoder
{
    public static int WriteFrame(Span<byte> destination, MessageType type, ReadOnlySpan<byte> payload)
    {
        if (payload.Length > WireFormat.MaxPayload)
        {
            throw new ArgumentException($"A payload holds at most {WireFormat.MaxPayload} bytes.", nameof(payload));
        }
        int size = WireFormat.HeaderSize + payload.Length + WireFormat.CrcSize;
        Span<byte> frame = destination[..size];
        frame[0] = WireFormat.Sync1;
        frame[1] = WireFormat.Sync2;
        frame[2] = (byte)type;
        frame[3] = (byte)payload.Length;
        payload.CopyTo(frame[WireFormat.HeaderSize..]);
        SealFrame(frame);
        return size;
    }

    public static int WriteSamples(Span<byte> destination, uint sequence, ReadOnlySpan<ushort> counts)
    {
        Span<byte> frame = BeginSamples(destination, MessageType.Samples, sequence, counts.Length, 2, out Span<byte> samples);
        for (int i = 0; i < counts.Length; i++)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(samples[(2 * i)..], counts[i]);
        }
        SealFrame(frame);
        return frame.Length;
    }

    /// <summary>A WIDE_SAMPLES frame: 32-bit counts (a replayed recording's, when they do not fit 16 bits).</summary>
    public static int WriteWideSamples(Span<byte> destination, uint sequence, ReadOnlySpan<int> counts)
    {
        Span<byte> frame = BeginSamples(destination, MessageType.WideSamples, sequence, counts.Length, 4, out Span<byte> samples);
        for (int i = 0; i < counts.Length; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(samples[(4 * i)..], counts[i]);
        }
        SealFrame(frame);
        return frame.Length;
    }

    /// <summary>A samples frame's header and sequence number; returns the frame and, in <paramref name="samples"/>, where its counts go.</summary>
    private static Span<byte> BeginSamples(Span<byte> destination, MessageType type, uint sequence, int channels, int bytesPerCount, out Span<byte> samples)
    {
        if (channels is < 1 or > WireFormat.MaxChannels)
        {
            throw new ArgumentOutOfRangeException(nameof(channels), $"A frame carries 1 to {WireFormat.MaxChannels} channels.");
        }
        int payloadLength = WireFormat.SequenceSize + (bytesPerCount * channels);
        Span<byte> frame = destination[..(WireFormat.HeaderSize + payloadLength + WireFormat.CrcSize)];
        frame[0] = WireFormat.Sync1;
        frame[1] = WireFormat.Sync2;
        frame[2] = (byte)type;
        frame[3] = (byte)payloadLength;
        BinaryPrimitives.WriteUInt32LittleEndian(frame[WireFormat.HeaderSize..], sequence);
        samples = frame.Slice(WireFormat.HeaderSize + WireFormat.SequenceSize, bytesPerCount * channels);
        return frame;
    }

    public static int WriteHello(Span<byte> destination, BoardInfo info)
    {
        Span<byte> payload = stackalloc byte[info.PayloadSize];
        info.Write(payload);
        return WriteFrame(destination, MessageType.Hello, payload);
    }

    public static int WriteAck(Span<byte> destination, MessageType command, AckResult result)
    {
        ReadOnlySpan<byte> payload = [(byte)command, (byte)result];
        return WriteFrame(destination, MessageType.Ack, payload);
    }

    public static int WriteOverflow(Span<byte> destination, uint droppedSinceBoot)
    {
        Span<byte> payload = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(payload, droppedSinceBoot);
        return WriteFrame(destination, MessageType.Overflow, payload);
    }

    /// <summary>START, STOP or IDENTIFY: host commands without arguments.</summary>
    public static int WriteCommand(Span<byte> destination, MessageType command) =>
        WriteFrame(destination, command, []);

    public static int WriteSetRate(Span<byte> destination, int sampleRateHz)
    {
        if (sampleRateHz is < 1 or > ushort.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(sampleRateHz), sampleRateHz, "The protocol carries rates of 1 to 65535 Hz.");
        }
        Span<byte> payload = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(payload, (ushort)sampleRateHz);
        return WriteFrame(destination, MessageType.SetRate, payload);
    }

    public static int WriteSetChannels(Span<byte> destination, int channels)
    {
        if (channels is < 1 or > WireFormat.MaxChannels)
        {
            throw new ArgumentOutOfRangeException(nameof(channels), channels, $"The protocol carries 1 to {WireFormat.MaxChannels} channels.");
        }
        ReadOnlySpan<byte> payload = [(byte)channels];
        return WriteFrame(destination, MessageType.SetChannels, payload);
    }

    /// <summary>Appends the CRC over type, length and payload (everything after the sync word).</summary>
    private static void SealFrame(Span<byte> frame)
    {
        int crcOffset = frame.Length - WireFormat.CrcSize;
        ushort crc = Crc16Ccitt.Compute(frame[2..crcOffset]);
        BinaryPrimitives.WriteUInt16LittleEndian(frame[crcOffset..], crc);
    }
}
