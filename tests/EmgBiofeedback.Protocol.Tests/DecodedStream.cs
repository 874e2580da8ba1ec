using System.Buffers;
using EmgBiofeedback.Protocol;

namespace EmgBiofeedback.Protocol.Tests;

/// <summary>What a decoder made of a byte stream, fed in chunks as a serial port would deliver it.</summary>
internal sealed class DecodedStream
{
    public List<uint> Sequences { get; } = [];
    public List<(uint Sequence, uint Lost)> Gaps { get; } = [];
    public List<BoardInfo> Boards { get; } = [];
    public int WrongValues { get; private set; }
    public BoardStreamDecoder Decoder { get; } = new();

    /// <summary>Feeds <paramref name="bytes"/> in chunks of <paramref name="chunk"/> bytes, keeping
    /// unconsumed bytes as a pipe would.</summary>
    public DecodedStream Feed(ReadOnlySpan<byte> bytes, int chunk = 64)
    {
        var pending = new List<byte>();
        for (int offset = 0; offset < bytes.Length; offset += chunk)
        {
            pending.AddRange(bytes.Slice(offset, Math.Min(chunk, bytes.Length - offset)).ToArray());
            var buffer = new ReadOnlySequence<byte>(pending.ToArray());
            var reader = new SequenceReader<byte>(buffer);
            while (Decoder.TryRead(ref reader, out BoardMessage message))
            {
                Record(message);
            }
            pending.RemoveRange(0, (int)reader.Consumed);
        }
        return this;
    }

    private void Record(in BoardMessage message)
    {
        if (message.Continuity == SequenceVerdict.Gap)
        {
            Gaps.Add((message.Sequence, message.LostBefore));
        }
        if (message.Type == MessageType.Hello)
        {
            Boards.Add(message.Info!);
        }
        if (message.Type != MessageType.Samples)
        {
            return;
        }
        Sequences.Add(message.Sequence);
        for (int c = 0; c < message.Samples.Length; c++)
        {
            if (message.Samples[c] != StreamBuilder.CountFor(message.Sequence, c))
            {
                WrongValues++;
            }
        }
    }
}
