namespace EmgBiofeedback.Protocol;

/// <summary>Frame types of docs/protocol.md. Host-to-board commands have the top bit set.</summary>
public enum MessageType : byte
{
    Hello = 0x01,
    Samples = 0x02,
    Ack = 0x03,
    Overflow = 0x04,

    /// <summary>
    /// SAMPLES with 32-bit counts: a replayed recording whose digital range does not fit 16 bits (a BDF's 24 bits)
    /// through the same decoder and loop as a board. Host-internal: the firmware never sends it.
    /// </summary>
    WideSamples = 0x05,

    Start = 0x81,
    Stop = 0x82,
    Identify = 0x83,
    SetRate = 0x84,
    SetChannels = 0x85,
}

/// <summary>The result byte of an ACK frame.</summary>
public enum AckResult : byte
{
    Ok = 0,
    UnknownCommand = 1,
    ArgumentOutOfRange = 2,
    Malformed = 3,
}
