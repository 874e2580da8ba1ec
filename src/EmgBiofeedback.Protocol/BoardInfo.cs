using System.Buffers.Binary;
using System.Text;

namespace EmgBiofeedback.Protocol;

/// <summary>The HELLO message: what the board is and how it samples.</summary>
public sealed record BoardInfo(
    byte ProtocolVersion,
    byte FirmwareMajor,
    byte FirmwareMinor,
    byte FirmwarePatch,
    int ChannelCount,
    int SampleRateHz,
    int AdcBits,
    int ReferenceMillivolts,
    bool Streaming,
    uint NextSequence,
    string BoardName)
{
    internal const int FixedSize = 15;

    /// <summary>
    /// Per channel, what a count means when the source knows it (a replayed recording: its header's calibration);
    /// null for a board, whose counts the station converts with its ADC and its configured sensor gain. Not on the wire.
    /// </summary>
    public IReadOnlyList<ChannelScale>? Scales { get; init; }

    public string FirmwareVersion => $"{FirmwareMajor}.{FirmwareMinor}.{FirmwarePatch}";

    public int PayloadSize => FixedSize + Encoding.ASCII.GetByteCount(BoardName);

    internal void Write(Span<byte> payload)
    {
        payload[0] = ProtocolVersion;
        payload[1] = FirmwareMajor;
        payload[2] = FirmwareMinor;
        payload[3] = FirmwarePatch;
        payload[4] = (byte)ChannelCount;
        BinaryPrimitives.WriteUInt16LittleEndian(payload[5..], (ushort)SampleRateHz);
        payload[7] = (byte)AdcBits;
        BinaryPrimitives.WriteUInt16LittleEndian(payload[8..], (ushort)ReferenceMillivolts);
        payload[10] = Streaming ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteUInt32LittleEndian(payload[11..], NextSequence);
        Encoding.ASCII.GetBytes(BoardName, payload[FixedSize..]);
    }

    /// <summary>Parses a HELLO payload; false when its fields are out of the protocol's ranges.</summary>
    public static bool TryParse(ReadOnlySpan<byte> payload, out BoardInfo? info)
    {
        info = null;
        if (payload.Length < FixedSize || payload.Length > FixedSize + WireFormat.MaxBoardNameLength)
        {
            return false;
        }
        int channels = payload[4];
        int rate = BinaryPrimitives.ReadUInt16LittleEndian(payload[5..]);
        int adcBits = payload[7];
        if (channels is < 1 or > WireFormat.MaxChannels || rate == 0 || adcBits is < 1 or > 16 || payload[10] > 1)
        {
            return false;
        }
        ReadOnlySpan<byte> name = payload[FixedSize..];
        foreach (byte c in name)
        {
            if (c is < 0x20 or > 0x7E)
            {
                return false;
            }
        }
        info = new BoardInfo(
            payload[0], payload[1], payload[2], payload[3], channels, rate, adcBits,
            BinaryPrimitives.ReadUInt16LittleEndian(payload[8..]),
            payload[10] == 1,
            BinaryPrimitives.ReadUInt32LittleEndian(payload[11..]),
            Encoding.ASCII.GetString(name));
        return true;
    }
}
