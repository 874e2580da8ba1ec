using System.Buffers;
using EmgBiofeedback.Protocol;

namespace EmgBiofeedback.Protocol.Tests;

public class BoardStreamDecoderTests
{
    [Fact]
    public void Decodes_every_frame_when_fed_one_byte_at_a_time()
    {
        var decoded = new DecodedStream().Feed(StreamBuilder.Stream(200), chunk: 1);

        Assert.Equal(Enumerable.Range(0, 200).Select(i => (uint)i), decoded.Sequences);
        Assert.Equal(0, decoded.WrongValues);
        Assert.Equal(new DecoderCounters(200, 0, 0, 0, 0, 0, 0, 0, 0, 0), decoded.Decoder.Counters);
    }

    [Fact]
    public void A_partial_frame_is_not_an_error_and_consumes_nothing()
    {
        var decoder = new BoardStreamDecoder();
        byte[] hello = StreamBuilder.Hello(StreamBuilder.Board());
        byte[] frame = StreamBuilder.Samples(0, 8);
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(hello));
        Assert.True(decoder.TryRead(ref reader, out _));

        var partial = new SequenceReader<byte>(new ReadOnlySequence<byte>(frame[..^1]));
        Assert.False(decoder.TryRead(ref partial, out _));

        Assert.Equal(0, partial.Consumed);
        Assert.Equal(0, decoder.Counters.DiscardedBytes);
        Assert.Equal(0, decoder.Counters.CrcErrors);
    }

    [Fact]
    public void Resynchronises_after_garbage_without_losing_the_next_frame()
    {
        var rng = new Random(7);
        var garbage = new byte[1000];
        rng.NextBytes(garbage);
        byte[] stream = [.. StreamBuilder.Hello(StreamBuilder.Board()), .. garbage, .. StreamBuilder.Samples(0, 8), .. StreamBuilder.Samples(1, 8)];

        var decoded = new DecodedStream().Feed(stream);

        Assert.Equal([0u, 1u], decoded.Sequences);
        Assert.Equal(garbage.Length, decoded.Decoder.Counters.DiscardedBytes);
        Assert.Equal(1, decoded.Decoder.Counters.Resyncs);
    }

    [Fact]
    public void One_percent_of_garbage_bytes_costs_only_the_frames_it_lands_in_and_every_loss_is_counted()
    {
        const int frames = 20_000;
        var rng = new Random(2026);
        var stream = new List<byte>(StreamBuilder.Hello(StreamBuilder.Board()));
        var untouched = new List<uint>();
        int garbageBytes = 0;
        for (uint seq = 0; seq < frames; seq++)
        {
            byte[] frame = StreamBuilder.Samples(seq, 8);
            bool hit = false;
            for (int i = 0; i < frame.Length; i++)
            {
                if (rng.NextDouble() < 0.01)
                {
                    // A garbage byte before the frame's first byte lands between frames; later ones land inside.
                    stream.Add((byte)rng.Next(256));
                    garbageBytes++;
                    hit |= i > 0;
                }
                stream.Add(frame[i]);
            }
            if (!hit)
            {
                untouched.Add(seq);
            }
        }

        var decoded = new DecodedStream().Feed(stream.ToArray(), chunk: 100);

        Assert.Empty(untouched.Except(decoded.Sequences));
        Assert.Equal(0, decoded.WrongValues);
        Assert.Equal(decoded.Sequences.Order(), decoded.Sequences);
        DecoderCounters counters = decoded.Decoder.Counters;
        Assert.Equal(frames - decoded.Sequences.Count, counters.LostFrames);
        Assert.Equal(decoded.Gaps.Sum(g => g.Lost), (uint)counters.LostFrames);
        Assert.True(counters.DiscardedBytes >= garbageBytes, $"discarded {counters.DiscardedBytes} < {garbageBytes} garbage bytes");
        Assert.True(counters.CrcErrors > 0);
    }

    [Fact]
    public void Counts_the_frames_missing_in_a_sequence_gap()
    {
        byte[] stream = [.. StreamBuilder.Stream(10), .. StreamBuilder.Samples(15, 8), .. StreamBuilder.Samples(16, 8)];

        var decoded = new DecodedStream().Feed(stream);

        Assert.Equal([(15u, 5u)], decoded.Gaps);
        Assert.Equal(5, decoded.Decoder.Counters.LostFrames);
        Assert.Equal(1, decoded.Decoder.Counters.Gaps);
    }

    [Fact]
    public void The_sequence_counter_wraps_at_2_to_the_32_without_a_gap()
    {
        var decoded = new DecodedStream().Feed(StreamBuilder.Stream(10, firstSequence: uint.MaxValue - 4));

        Assert.Equal(10, decoded.Sequences.Count);
        Assert.Equal(0u, decoded.Sequences[5]);
        Assert.Empty(decoded.Gaps);
        Assert.Equal(0, decoded.Decoder.Counters.Duplicates);
    }

    [Fact]
    public void A_gap_across_the_wrap_is_counted_exactly()
    {
        byte[] stream = [.. StreamBuilder.Stream(1, firstSequence: uint.MaxValue - 1), .. StreamBuilder.Samples(3, 8)];

        var decoded = new DecodedStream().Feed(stream);

        Assert.Equal([(3u, 4u)], decoded.Gaps);
    }

    [Fact]
    public void Duplicates_and_frames_from_the_past_are_dropped_and_counted()
    {
        byte[] stream = [.. StreamBuilder.Stream(5), .. StreamBuilder.Samples(4, 8), .. StreamBuilder.Samples(2, 8), .. StreamBuilder.Samples(5, 8)];

        var decoded = new DecodedStream().Feed(stream);

        Assert.Equal([0u, 1u, 2u, 3u, 4u, 5u], decoded.Sequences);
        Assert.Equal(2, decoded.Decoder.Counters.Duplicates);
        Assert.Empty(decoded.Gaps);
    }

    [Fact]
    public void Samples_before_the_first_hello_are_counted_not_delivered()
    {
        byte[] stream = [.. StreamBuilder.Samples(0, 8), .. StreamBuilder.Samples(1, 8), .. StreamBuilder.Stream(3, firstSequence: 2)];

        var decoded = new DecodedStream().Feed(stream);

        Assert.Equal([2u, 3u, 4u], decoded.Sequences);
        Assert.Equal(2, decoded.Decoder.Counters.FramesBeforeHello);
    }

    [Fact]
    public void Frames_that_contradict_the_hello_channel_count_are_malformed()
    {
        byte[] stream = [.. StreamBuilder.Stream(2), .. StreamBuilder.Samples(2, 4), .. StreamBuilder.Samples(3, 8)];

        var decoded = new DecodedStream().Feed(stream);

        Assert.Equal([0u, 1u, 3u], decoded.Sequences);
        Assert.Equal(1, decoded.Decoder.Counters.MalformedFrames);
        Assert.Equal([(3u, 1u)], decoded.Gaps);
    }

    [Fact]
    public void After_a_lost_link_a_lower_sequence_means_the_board_restarted()
    {
        var decoded = new DecodedStream().Feed(StreamBuilder.Stream(100));
        decoded.Decoder.OnLinkLost(unreadBytes: 13);

        decoded.Feed([.. StreamBuilder.Samples(0, 8), .. StreamBuilder.Samples(1, 8)]);

        Assert.Equal(102, decoded.Sequences.Count);
        Assert.Equal(1, decoded.Decoder.Counters.BoardRestarts);
        Assert.Equal(0, decoded.Decoder.Counters.Duplicates);
        Assert.Equal(13, decoded.Decoder.Counters.DiscardedBytes);
    }

    [Fact]
    public void After_a_lost_link_a_board_that_kept_counting_gives_an_exact_gap()
    {
        var decoded = new DecodedStream().Feed(StreamBuilder.Stream(100));
        decoded.Decoder.OnLinkLost(unreadBytes: 0);

        decoded.Feed(StreamBuilder.Samples(350, 8));

        Assert.Equal([(350u, 250u)], decoded.Gaps);
        Assert.Equal(0, decoded.Decoder.Counters.BoardRestarts);
    }

    [Fact]
    public void Decoding_allocates_nothing_per_frame_in_steady_state()
    {
        byte[] stream = StreamBuilder.Stream(20_000);
        var decoder = new BoardStreamDecoder();
        var all = new ReadOnlySequence<byte>(stream);
        int warmUp = StreamBuilder.Hello(StreamBuilder.Board()).Length + 1_000 * WireFormat.SamplesFrameSize(8);
        long checksum = DecodeAll(decoder, all.Slice(0, warmUp));

        long before = GC.GetAllocatedBytesForCurrentThread();
        checksum += DecodeAll(decoder, all.Slice(warmUp));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        Assert.Equal(20_000, decoder.Counters.SampleFrames);
        Assert.NotEqual(0, checksum);
    }

    private static long DecodeAll(BoardStreamDecoder decoder, ReadOnlySequence<byte> buffer)
    {
        var reader = new SequenceReader<byte>(buffer);
        long sum = 0;
        while (decoder.TryRead(ref reader, out BoardMessage message))
        {
            if (message.Type == MessageType.Samples)
            {
                sum += message.Samples[0];
            }
        }
        return sum;
    }
}
