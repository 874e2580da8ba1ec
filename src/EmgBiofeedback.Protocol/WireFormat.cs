namespace EmgBiofeedback.Protocol;

/// <summary>Sizes and limits of the frame layout in docs/protocol.md.</summary>
public static class WireFormat
{
    public const int ProtocolVersion = 1;
    public const byte Sync1 = 0xA5;
    public const byte Sync2 = 0x5A;

    /// <summary>Sync word, type and length.</summary>
    public const int HeaderSize = 4;
    public const int CrcSize = 2;
    public const int MaxPayload = 255;
    public const int MaxFrameSize = HeaderSize + MaxPayload + CrcSize;

    public const int MaxChannels = 16;
    public const int MaxBoardNameLength = 32;

    /// <summary>Sequence number ahead of the samples in a SAMPLES payload.</summary>
    public const int SequenceSize = 4;

    /// <summary>
    /// The longest payload a frame of this type can have. A header claiming more is a false sync in
    /// garbage, rejected at once instead of waiting for bytes that will never make a valid frame.
    /// Unknown types may be up to <see cref="MaxPayload"/> long (a newer board's messages).
    /// </summary>
    public static int MaxPayloadFor(byte type) => (MessageType)type switch
    {
        MessageType.Samples => SequenceSize + 2 * MaxChannels,
        MessageType.WideSamples => SequenceSize + 4 * MaxChannels,
        MessageType.Hello => BoardInfo.FixedSize + MaxBoardNameLength,
        MessageType.Ack => 2,
        MessageType.Overflow => 4,
        MessageType.Start or MessageType.Stop or MessageType.Identify => 0,
        MessageType.SetRate => 2,
        MessageType.SetChannels => 1,
        _ => MaxPayload,
    };

    public static int SamplesFrameSize(int channels) => HeaderSize + SequenceSize + 2 * channels + CrcSize;

    /// <summary>A WIDE_SAMPLES frame: 32-bit counts.</summary>
    public static int WideSamplesFrameSize(int channels) => HeaderSize + SequenceSize + 4 * channels + CrcSize;

    /// <summary>Bits on the line per sample instant with 8N1 framing (10 bits per byte).</summary>
    public static int LineBitsPerSampleInstant(int channels) => 10 * SamplesFrameSize(channels);
}
