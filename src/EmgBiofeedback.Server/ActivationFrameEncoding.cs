using System.Buffers;
using EmgBiofeedback.Pipeline;
using Google.Protobuf;
using Grpc.Core;
using V1 = EmgBiofeedback.Contracts.V1;

namespace EmgBiofeedback.Server;

/// <summary>
/// One activation frame as emg.v1.ActivationFrame bytes, encoded once per tick by the first subscriber that needs it
/// and shared by all (cached on the frame, <see cref="ActivationFrame.GetWireForm{T}"/>). The generated code writes a
/// message's fields in field-number order, so a subscriber's own message is these bytes with its own parts put in
/// place: missed_before (field 2) after sequence (field 1), and for a channel selection only its muscles (field 6), in
/// the order asked. What a subscriber receives is, byte for byte, what the generated code writes for the message
/// <see cref="ProtoMapping.ToProto(ActivationFrame, IReadOnlyList{int})"/> builds for it.
/// </summary>
internal sealed class ActivationFrameEncoding
{
    private static readonly byte MissedBeforeTag = (byte)WireFormat.MakeTag(V1.ActivationFrame.MissedBeforeFieldNumber, WireFormat.WireType.Varint);

    private readonly byte[] _bytes;
    private readonly int _missedAt;     // where missed_before goes: after the fields numbered below it
    private readonly int _musclesAt;    // the first muscle
    private readonly int[] _muscleEnds; // muscle i spans [i == 0 ? _musclesAt : _muscleEnds[i - 1], _muscleEnds[i])
    private readonly int _tailAt;       // the fields numbered after the muscles

    private ActivationFrameEncoding(byte[] bytes, int missedAt, int musclesAt, int[] muscleEnds, int tailAt)
    {
        _bytes = bytes;
        _missedAt = missedAt;
        _musclesAt = musclesAt;
        _muscleEnds = muscleEnds;
        _tailAt = tailAt;
    }

    /// <summary>The frame's shared encoding: built once, by whichever subscriber asks first.</summary>
    public static ActivationFrameEncoding Of(ActivationFrame frame) => frame.GetWireForm(Encode);

    /// <summary>The size of the message for a subscriber that missed <paramref name="missedBefore"/> frames and chose <paramref name="channels"/> (null: all).</summary>
    public int SizeFor(uint missedBefore, int[]? channels)
    {
        int size = _bytes.Length;
        if (missedBefore > 0)
        {
            size += 1 + CodedOutputStream.ComputeUInt32Size(missedBefore);
        }
        if (channels is not null)
        {
            size -= _tailAt - _musclesAt;
            foreach (int c in channels)
            {
                if (c < _muscleEnds.Length)
                {
                    size += MuscleEnd(c) - MuscleStart(c);
                }
            }
        }
        return size;
    }

    /// <summary>Writes the subscriber's message; <paramref name="destination"/> holds at least <see cref="SizeFor"/> bytes. Returns the bytes written.</summary>
    public int WriteTo(Span<byte> destination, uint missedBefore, int[]? channels)
    {
        ReadOnlySpan<byte> bytes = _bytes;
        int at = Copy(bytes[.._missedAt], destination, 0);
        if (missedBefore > 0)
        {
            destination[at++] = MissedBeforeTag;
            at += WriteVarint(destination[at..], missedBefore);
        }
        if (channels is null)
        {
            return Copy(bytes[_missedAt..], destination, at);
        }
        at = Copy(bytes[_missedAt.._musclesAt], destination, at);
        foreach (int c in channels)
        {
            if (c < _muscleEnds.Length)
            {
                at = Copy(bytes[MuscleStart(c)..MuscleEnd(c)], destination, at);
            }
        }
        return Copy(bytes[_tailAt..], destination, at);
    }

    private int MuscleStart(int i) => i == 0 ? _musclesAt : _muscleEnds[i - 1];

    private int MuscleEnd(int i) => _muscleEnds[i];

    private static int Copy(ReadOnlySpan<byte> source, Span<byte> destination, int at)
    {
        source.CopyTo(destination[at..]);
        return at + source.Length;
    }

    /// <summary>A protobuf varint; returns its length.</summary>
    internal static int WriteVarint(Span<byte> destination, uint value)
    {
        int i = 0;
        while (value >= 0x80)
        {
            destination[i++] = (byte)(value | 0x80);
            value >>= 7;
        }
        destination[i++] = (byte)value;
        return i;
    }

    /// <summary>
    /// The whole frame through the one mapping (ProtoMapping) and the generated serialiser; then the fields' places are
    /// read back from the bytes, so a field added to live.proto is carried without a change here.
    /// </summary>
    private static ActivationFrameEncoding Encode(ActivationFrame frame)
    {
        byte[] bytes = ProtoMapping.ToProto(frame, null).ToByteArray();
        var muscleEnds = new int[frame.Muscles.Length];
        int missedAt = -1, musclesAt = -1, tailAt = -1, muscles = 0, previous = 0;
        var input = new CodedInputStream(bytes);
        while (true)
        {
            int start = (int)input.Position;
            uint tag = input.ReadTag();
            if (tag == 0)
            {
                break;
            }
            int field = WireFormat.GetTagFieldNumber(tag);
            input.SkipLastField();
            if (field < previous || field == V1.ActivationFrame.MissedBeforeFieldNumber)
            {
                throw new InvalidOperationException($"emg.v1.ActivationFrame field {field} is out of field-number order or set in the shared encoding: the shared encoding's layout no longer holds.");
            }
            previous = field;
            if (field > V1.ActivationFrame.MissedBeforeFieldNumber && missedAt < 0)
            {
                missedAt = start;
            }
            if (field == V1.ActivationFrame.MusclesFieldNumber)
            {
                musclesAt = musclesAt < 0 ? start : musclesAt;
                muscleEnds[muscles++] = (int)input.Position;
            }
            else if (field > V1.ActivationFrame.MusclesFieldNumber && tailAt < 0)
            {
                tailAt = start;
            }
        }
        tailAt = tailAt < 0 ? bytes.Length : tailAt;
        musclesAt = musclesAt < 0 ? tailAt : musclesAt;
        missedAt = missedAt < 0 ? musclesAt : missedAt;
        return new ActivationFrameEncoding(bytes, missedAt, musclesAt, muscleEnds, tailAt);
    }
}

/// <summary>
/// One subscriber's next emg.v1.ActivationFrame, as its StreamActivation writes it (the response type <see
/// cref="LiveBinding"/> binds): the frame's shared encoding with this subscriber's missed_before and channel selection
/// (nothing is allocated per subscriber), or with Live:SharedEncoding=false the message built and serialised for this
/// subscriber alone, as the generated binding did. One per stream, refilled for every frame once the previous write
/// has completed.
/// </summary>
internal sealed class SubscriberFrame(int[]? channels, bool sharedEncoding)
{
    private static readonly Func<ActivationFrame, V1.ActivationFrame> WholeFrame = f => ProtoMapping.ToProto(f, null);

    private ActivationFrameEncoding? _encoding;
    private uint _missedBefore;

    /// <summary>The message to serialise, on the per-subscriber path; null on the shared one.</summary>
    public V1.ActivationFrame? Message { get; private set; }

    public void Set(ActivationFrame frame, long missedBefore)
    {
        uint missed = (uint)Math.Min(missedBefore, uint.MaxValue);
        if (sharedEncoding)
        {
            _encoding = ActivationFrameEncoding.Of(frame);
            _missedBefore = missed;
            Message = null;
            return;
        }
        // The whole frame is converted once per tick and shared; only a channel selection or a report of missed frames
        // makes the subscriber's own copy; grpc-dotnet then serialises it for each subscriber.
        V1.ActivationFrame message = channels is null ? frame.GetWireForm(WholeFrame) : ProtoMapping.ToProto(frame, channels);
        if (missed > 0)
        {
            message = message.Clone();
            message.MissedBefore = missed;
        }
        Message = message;
        _encoding = null;
    }

    public int CalculateSize() => Message?.CalculateSize() ?? _encoding!.SizeFor(_missedBefore, channels);

    /// <summary>Writes the message (<see cref="CalculateSize"/> bytes) at the start of <paramref name="destination"/>.</summary>
    public int WriteTo(Span<byte> destination)
    {
        if (Message is { } message)
        {
            int size = message.CalculateSize();
            message.WriteTo(destination[..size]);
            return size;
        }
        return _encoding!.WriteTo(destination, _missedBefore, channels);
    }

    /// <summary>The response marshaller's serialiser: a gRPC message's payload.</summary>
    public static void Serialize(SubscriberFrame frame, SerializationContext context)
    {
        if (frame.Message is { } message)
        {
            LiveBinding.Serialize(message, context);
            return;
        }
        int size = frame.CalculateSize();
        context.SetPayloadLength(size);
        IBufferWriter<byte> output = context.GetBufferWriter();
        frame.WriteTo(output.GetSpan(size));
        output.Advance(size);
        context.Complete();
    }
}

/// <summary>
/// One subscriber's next emg.v1.LiveMessage (StreamLive): an event, serialised as usual (events are rare), or an
/// activation frame written from the frame's shared encoding as LiveMessage's field <c>activation</c>.
/// </summary>
internal sealed class SubscriberLiveMessage(int[]? channels, bool sharedEncoding)
{
    private static readonly byte ActivationTag = (byte)WireFormat.MakeTag(V1.LiveMessage.ActivationFieldNumber, WireFormat.WireType.LengthDelimited);

    private readonly SubscriberFrame _activation = new(channels, sharedEncoding);

    /// <summary>The message to serialise (an event, or an activation on the per-subscriber path); null for a shared activation.</summary>
    private V1.LiveMessage? _message;

    public void SetEvent(V1.Event e) => _message = new V1.LiveMessage { Event = e };

    public void SetActivation(ActivationFrame frame, long missedBefore)
    {
        _activation.Set(frame, missedBefore);
        _message = _activation.Message is { } message ? new V1.LiveMessage { Activation = message } : null;
    }

    public static void Serialize(SubscriberLiveMessage live, SerializationContext context)
    {
        if (live._message is { } message)
        {
            LiveBinding.Serialize(message, context);
            return;
        }
        int inner = live._activation.CalculateSize();
        int header = 1 + CodedOutputStream.ComputeLengthSize(inner);
        context.SetPayloadLength(header + inner);
        IBufferWriter<byte> output = context.GetBufferWriter();
        Span<byte> span = output.GetSpan(header + inner);
        span[0] = ActivationTag;
        ActivationFrameEncoding.WriteVarint(span[1..], (uint)inner);
        live._activation.WriteTo(span[header..]);
        output.Advance(header + inner);
        context.Complete();
    }
}
