using System.Buffers;
using System.Buffers.Binary;

namespace EmgBiofeedback.Protocol;

/// <summary>A board message, decoded and checked. Spans are valid until the next read.</summary>
public readonly ref struct BoardMessage
{
    public MessageType Type { get; init; }

    /// <summary>HELLO: the board's description.</summary>
    public BoardInfo? Info { get; init; }

    /// <summary>SAMPLES: the frame's sequence number.</summary>
    public uint Sequence { get; init; }

    /// <summary>SAMPLES: ADC counts, one per channel.</summary>
    public ReadOnlySpan<ushort> Samples { get; init; }

    /// <summary>SAMPLES from a WIDE_SAMPLES frame: 32-bit counts, one per channel (then <see cref="Samples"/> is empty).</summary>
    public ReadOnlySpan<int> WideSamples { get; init; }

    /// <summary>SAMPLES or HELLO: what the sequence counter said about the frames before this message.</summary>
    public SequenceVerdict Continuity { get; init; }

    /// <summary>With <see cref="SequenceVerdict.Gap"/>: how many sample instants are missing just before.</summary>
    public uint LostBefore { get; init; }

    /// <summary>ACK: which command was answered, and how.</summary>
    public MessageType AckedCommand { get; init; }
    public AckResult AckResult { get; init; }

    /// <summary>OVERFLOW: sample instants the board dropped since it booted.</summary>
    public uint OverflowTotal { get; init; }
}

/// <summary>Counts kept by <see cref="BoardStreamDecoder"/>; a snapshot.</summary>
public readonly record struct DecoderCounters(
    long SampleFrames,
    long LostFrames,
    long Gaps,
    long Duplicates,
    long CrcErrors,
    long MalformedFrames,
    long DiscardedBytes,
    long Resyncs,
    long FramesBeforeHello,
    long BoardRestarts);

/// <summary>
/// Turns the board's byte stream into checked messages: framing and CRC (<see cref="FrameDecoder"/>),
/// payload validation against the board's HELLO, and sequence continuity. Nothing it drops goes uncounted:
/// duplicates, frames that contradict the HELLO, frames before any HELLO, and bytes that were not a frame.
/// Allocation-free per sample frame.
/// </summary>
public sealed class BoardStreamDecoder
{
    private readonly FrameDecoder _frames = new();
    private readonly ushort[] _samples = new ushort[WireFormat.MaxChannels];
    private readonly int[] _wideSamples = new int[WireFormat.MaxChannels];
    private SequenceTracker _sequence;
    private bool _rejectFrame;

    private long _sampleFrames, _lostFrames, _gaps, _duplicates, _malformed, _beforeHello, _restarts;

    /// <summary>The last HELLO; null until the board has identified itself.</summary>
    public BoardInfo? Board { get; private set; }

    public DecoderCounters Counters => new(
        _sampleFrames, _lostFrames, _gaps, _duplicates, _frames.CrcErrors, _malformed,
        _frames.DiscardedBytes, _frames.Resyncs, _beforeHello, _restarts);

    public bool TryRead(ref SequenceReader<byte> reader, out BoardMessage message)
    {
        while (_frames.TryReadFrame(ref reader, out Frame frame))
        {
            if (TryInterpret(frame, out message))
            {
                return true;
            }
            if (_rejectFrame)
            {
                _rejectFrame = false;
                _frames.RejectLastFrame(ref reader, frame.WireLength);
            }
        }
        message = default;
        return false;
    }

    /// <summary>The link dropped: bytes of a half-received frame are counted, and the next sequence number
    /// is judged as coming after an outage.</summary>
    public void OnLinkLost(long unreadBytes)
    {
        _frames.DiscardIncomplete(unreadBytes);
        _sequence.MarkDiscontinuity();
    }

    /// <summary>
    /// The next bytes come from another source (the operator switched between the board and a replay): its
    /// sequence numbers are not compared with the old source's, so the switch is not counted as lost frames.
    /// </summary>
    public void OnSourceChanged()
    {
        _sequence.ForgetAnchor();
        Board = null;
    }

    private bool TryInterpret(Frame frame, out BoardMessage message)
    {
        message = default;
        ReadOnlySpan<byte> payload = frame.Payload;
        switch (frame.Type)
        {
            case MessageType.Samples:
                return TryInterpretSamples(payload, out message);

            case MessageType.WideSamples:
                return TryInterpretSamples(payload, out message, wide: true);

            case MessageType.Hello:
                if (!BoardInfo.TryParse(payload, out BoardInfo? info) || info!.ProtocolVersion != WireFormat.ProtocolVersion)
                {
                    return Malformed();
                }
                Board = info;
                SequenceVerdict verdict = _sequence.Anchor(info.NextSequence, out uint lost);
                Count(verdict, lost);
                message = new BoardMessage { Type = MessageType.Hello, Info = info, Continuity = verdict, LostBefore = lost };
                return true;

            case MessageType.Ack when payload.Length == 2 && payload[1] <= (byte)AckResult.Malformed:
                message = new BoardMessage { Type = MessageType.Ack, AckedCommand = (MessageType)payload[0], AckResult = (AckResult)payload[1] };
                return true;

            case MessageType.Overflow when payload.Length == 4:
                message = new BoardMessage { Type = MessageType.Overflow, OverflowTotal = BinaryPrimitives.ReadUInt32LittleEndian(payload) };
                return true;

            default:
                return Malformed();
        }
    }

    private bool TryInterpretSamples(ReadOnlySpan<byte> payload, out BoardMessage message, bool wide = false)
    {
        message = default;
        if (Board is null)
        {
            // Without a HELLO there is no rate or scale to give these samples; the stream starts at the HELLO.
            _beforeHello++;
            return false;
        }
        int channels = Board.ChannelCount;
        if (payload.Length != WireFormat.SequenceSize + ((wide ? 4 : 2) * Board.ChannelCount))
        {
            return Malformed();
        }
        if (!wide && !WithinResolution(payload[WireFormat.SequenceSize..], Board.AdcBits))
        {
            // A count the board's ADC cannot produce: not a frame the board sent. CRC-16 lets about one corrupted frame
            // in 65536 through; a byte slipped into a frame shifts every later count's low byte into a high byte, which
            // a 10-bit board never sends (issue 18's end-to-end run recorded such a frame's values under 1 % line noise).
            return Malformed();
        }
        uint sequence = BinaryPrimitives.ReadUInt32LittleEndian(payload);
        SequenceVerdict verdict = _sequence.Observe(sequence, out uint lost);
        if (verdict == SequenceVerdict.Duplicate)
        {
            _duplicates++;
            return false;
        }
        Count(verdict, lost);

        ReadOnlySpan<byte> raw = payload[WireFormat.SequenceSize..];
        if (wide)
        {
            Span<int> wideSamples = _wideSamples.AsSpan(0, channels);
            for (int i = 0; i < wideSamples.Length; i++)
            {
                wideSamples[i] = BinaryPrimitives.ReadInt32LittleEndian(raw[(4 * i)..]);
            }
            _sampleFrames++;
            message = new BoardMessage { Type = MessageType.Samples, Sequence = sequence, WideSamples = wideSamples, Continuity = verdict, LostBefore = lost };
            return true;
        }
        Span<ushort> samples = _samples.AsSpan(0, channels);
        for (int i = 0; i < samples.Length; i++)
        {
            samples[i] = BinaryPrimitives.ReadUInt16LittleEndian(raw[(2 * i)..]);
        }
        _sampleFrames++;
        message = new BoardMessage
        {
            Type = MessageType.Samples,
            Sequence = sequence,
            Samples = samples,
            Continuity = verdict,
            LostBefore = lost,
        };
        return true;
    }

    /// <summary>True when every count fits the HELLO's ADC resolution (right-aligned, docs/protocol.md).</summary>
    private static bool WithinResolution(ReadOnlySpan<byte> raw, int adcBits)
    {
        if (adcBits >= 16)
        {
            return true;
        }
        // Little-endian counts below 2^bits: the high byte holds at most bits - 8 bits.
        int highLimit = adcBits <= 8 ? 0 : (1 << (adcBits - 8)) - 1;
        int lowLimit = adcBits >= 8 ? 0xFF : (1 << adcBits) - 1;
        for (int i = 0; i + 1 < raw.Length; i += 2)
        {
            if (raw[i + 1] > highLimit || raw[i] > lowLimit)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>A frame with a valid CRC that makes no sense: counted, and searched again byte by byte.</summary>
    private bool Malformed()
    {
        _malformed++;
        _rejectFrame = true;
        return false;
    }

    private void Count(SequenceVerdict verdict, uint lost)
    {
        if (verdict == SequenceVerdict.Gap)
        {
            _gaps++;
            _lostFrames += lost;
        }
        else if (verdict == SequenceVerdict.Restarted)
        {
            _restarts++;
        }
    }
}
