using System.Buffers;
using System.Buffers.Binary;

namespace EmgBiofeedback.Protocol;

/// <summary>One frame as read off the wire: its type and payload, valid until the next read.</summary>
public readonly ref struct Frame(MessageType type, ReadOnlySpan<byte> payload)
{
    public MessageType Type { get; } = type;
    public ReadOnlySpan<byte> Payload { get; } = payload;

    /// <summary>Bytes the frame occupied on the wire.</summary>
    public int WireLength => WireFormat.HeaderSize + Payload.Length + WireFormat.CrcSize;
}

/// <summary>
/// The framing layer of docs/protocol.md: finds the sync word, checks length and CRC, and hands out whole
/// frames. Modelled on Kestrel's HTTP parser: it reads from a <see cref="SequenceReader{T}"/>, a partial
/// frame is not an error (it returns false and the caller reads more), it never throws on bad bytes, and it
/// allocates nothing per frame. After a failed check it resumes one byte after the false sync, so garbage
/// never costs an intact frame that follows it.
/// </summary>
public sealed class FrameDecoder
{
    private readonly byte[] _frame = new byte[WireFormat.MaxFrameSize];
    private bool _inSync = true;

    public long FramesRead { get; private set; }
    public long CrcErrors { get; private set; }
    public long DiscardedBytes { get; private set; }

    /// <summary>Times the decoder lost the frame boundary and had to search for it again.</summary>
    public long Resyncs { get; private set; }

    /// <summary>
    /// Reads the next whole frame. Returns false when the reader holds no whole frame; the reader is then
    /// positioned at the first byte that may still start one (the caller keeps it and adds more bytes).
    /// </summary>
    public bool TryReadFrame(ref SequenceReader<byte> reader, out Frame frame)
    {
        Span<byte> header = stackalloc byte[WireFormat.HeaderSize];
        while (true)
        {
            long before = reader.Consumed;
            if (!reader.TryAdvanceTo(WireFormat.Sync1, advancePastDelimiter: false))
            {
                reader.AdvanceToEnd();
            }
            Discard(reader.Consumed - before);

            if (!reader.TryCopyTo(header))
            {
                // End of the data: at most a partial header. A lone byte that is not a sync start was
                // discarded above; keep what may still become a frame.
                frame = default;
                return false;
            }
            if (header[1] != WireFormat.Sync2 || header[3] > WireFormat.MaxPayloadFor(header[2]))
            {
                reader.Advance(1);
                Discard(1);
                continue;
            }

            int size = WireFormat.HeaderSize + header[3] + WireFormat.CrcSize;
            Span<byte> candidate = _frame.AsSpan(0, size);
            if (!reader.TryCopyTo(candidate))
            {
                frame = default;
                return false;
            }

            int crcOffset = size - WireFormat.CrcSize;
            ushort expected = BinaryPrimitives.ReadUInt16LittleEndian(candidate[crcOffset..]);
            if (Crc16Ccitt.Compute(candidate[2..crcOffset]) != expected)
            {
                CrcErrors++;
                reader.Advance(1);
                Discard(1);
                continue;
            }

            reader.Advance(size);
            FramesRead++;
            _inSync = true;
            frame = new Frame((MessageType)candidate[2], candidate[WireFormat.HeaderSize..crcOffset]);
            return true;
        }
    }

    /// <summary>
    /// The caller could not make sense of the frame just read although its CRC matched: one false frame in
    /// 65 536 passes a CRC-16 by chance, and such a frame may swallow the start of a real one. Step back to
    /// one byte after its sync word and search again, so the real frame is still found.
    /// </summary>
    public void RejectLastFrame(ref SequenceReader<byte> reader, int wireLength)
    {
        reader.Rewind(wireLength - 1);
        FramesRead--;
        Discard(1);
    }

    /// <summary>Counts bytes left over when a stream ends mid-frame (an unplug, a closed port).</summary>
    public void DiscardIncomplete(long bytes) => Discard(bytes);

    private void Discard(long bytes)
    {
        if (bytes == 0)
        {
            return;
        }
        DiscardedBytes += bytes;
        if (_inSync)
        {
            _inSync = false;
            Resyncs++;
        }
    }
}
