using System.Buffers;
using EmgBiofeedback.Protocol;

namespace EmgBiofeedback.Protocol.Tests;

/// <summary>
/// Seeded random cases, a million in all: whatever bytes arrive, the decoder never throws, never hands out a
/// sample frame with values that were not sent, accounts for every byte, and finds the next intact frame.
/// </summary>
public class DecoderPropertyTests
{
    private const int Cases = 400_000;

    [Fact]
    public void Random_bytes_never_throw_and_every_byte_is_accounted_for()
    {
        var rng = new Random(1);
        var buffer = new byte[300];
        byte[] hello = StreamBuilder.Hello(StreamBuilder.Board());
        for (int i = 0; i < Cases; i++)
        {
            var decoder = new BoardStreamDecoder();
            int length = rng.Next(1, buffer.Length);
            Span<byte> bytes = buffer.AsSpan(0, length);
            rng.NextBytes(bytes);
            if (i % 2 == 0 && length > hello.Length)
            {
                hello.CopyTo(bytes); // so random bytes are also judged as sample frames
            }
            var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(buffer, 0, length));
            int delivered = 0;
            while (decoder.TryRead(ref reader, out BoardMessage message))
            {
                delivered++;
            }
            long accounted = decoder.Counters.DiscardedBytes + reader.Remaining;
            Assert.True(accounted <= length, $"case {i}: {accounted} bytes accounted of {length}");
            Assert.True(delivered <= length / WireFormat.SamplesFrameSize(1) + 1);
        }
    }

    [Fact]
    public void Flipped_bits_never_deliver_wrong_samples_and_the_next_intact_frame_always_arrives()
    {
        var rng = new Random(2);
        byte[] hello = StreamBuilder.Hello(StreamBuilder.Board());
        for (int i = 0; i < Cases; i++)
        {
            uint seq = (uint)rng.Next();
            byte[] damaged = StreamBuilder.Samples(seq, 8);
            int flips = rng.Next(1, 4);
            for (int f = 0; f < flips; f++)
            {
                damaged[rng.Next(damaged.Length)] ^= (byte)(1 << rng.Next(8));
            }
            // The intact frames that follow outnumber the longest frame a damaged length byte can claim,
            // as they would in a live stream.
            byte[] stream = [.. hello, .. damaged, .. StreamBuilder.Stream(11, firstSequence: seq + 1)[hello.Length..]];

            var decoded = new DecodedStream().Feed(stream, chunk: stream.Length);

            Assert.Equal(0, decoded.WrongValues);
            Assert.Contains(seq + 1, decoded.Sequences);
        }
    }

    [Fact]
    public void Truncated_streams_deliver_exactly_the_whole_frames_before_the_cut()
    {
        var rng = new Random(3);
        byte[] stream = StreamBuilder.Stream(8);
        int helloLength = StreamBuilder.Hello(StreamBuilder.Board()).Length;
        int frameLength = WireFormat.SamplesFrameSize(8);
        for (int i = 0; i < Cases / 2; i++)
        {
            int cut = rng.Next(stream.Length + 1);
            var decoder = new BoardStreamDecoder();
            var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(stream, 0, cut));
            int frames = 0;
            while (decoder.TryRead(ref reader, out BoardMessage message))
            {
                frames += message.Type == MessageType.Samples ? 1 : 0;
            }
            int expected = cut < helloLength ? 0 : (cut - helloLength) / frameLength;
            Assert.Equal(expected, frames);
            Assert.Equal(0, decoder.Counters.DiscardedBytes);
        }
    }
}
