using System.Text;
using EmgBiofeedback.Protocol;

namespace EmgBiofeedback.Protocol.Tests;

public class FrameFormatTests
{
    [Fact]
    public void Crc_matches_the_catalogue_check_value_of_CRC16_CCITT_FALSE()
    {
        Assert.Equal(0x29B1, Crc16Ccitt.Compute(Encoding.ASCII.GetBytes("123456789")));
    }

    [Fact]
    public void Samples_frame_for_eight_channels_has_the_documented_layout()
    {
        byte[] frame = StreamBuilder.Samples(0x01020304, 8);

        Assert.Equal(26, frame.Length);
        Assert.Equal(WireFormat.SamplesFrameSize(8), frame.Length);
        Assert.Equal(new byte[] { 0xA5, 0x5A, 0x02, 20, 0x04, 0x03, 0x02, 0x01 }, frame[..8]);
        ushort first = StreamBuilder.CountFor(0x01020304, 0);
        Assert.Equal((byte)(first & 0xFF), frame[8]);
        Assert.Equal((byte)(first >> 8), frame[9]);
        ushort crc = Crc16Ccitt.Compute(frame.AsSpan(2, 2 + 20));
        Assert.Equal((byte)(crc & 0xFF), frame[^2]);
        Assert.Equal((byte)(crc >> 8), frame[^1]);
    }

    [Fact]
    public void Eight_channels_at_1000_Hz_fit_the_default_baud_with_margin()
    {
        double lineUse = WireFormat.LineBitsPerSampleInstant(8) * 1000.0 / 500_000;

        Assert.Equal(0.52, lineUse, 3);
    }

    [Fact]
    public void Hello_round_trips_every_field()
    {
        var info = new BoardInfo(1, 2, 3, 4, 6, 2000, 12, 3300, false, 0xDEADBEEF, "nano");

        var decoded = new DecodedStream().Feed(StreamBuilder.Hello(info));

        Assert.Equal(info, Assert.Single(decoded.Boards));
    }

    [Fact]
    public void Wide_samples_carry_32_bit_counts_through_the_decoder_with_the_same_sequence_rules()
    {
        var decoder = new BoardStreamDecoder();
        int[] first = [-8_388_608, 8_388_607, 0], second = [123_456, -7, 42];
        var bytes = new List<byte>(StreamBuilder.Hello(StreamBuilder.Board(channels: 3)));
        foreach ((uint sequence, int[] counts) in new[] { (0u, first), (3u, second) }) // instants 1 and 2 lost
        {
            var frame = new byte[WireFormat.WideSamplesFrameSize(3)];
            Assert.Equal(frame.Length, FrameEncoder.WriteWideSamples(frame, sequence, counts));
            bytes.AddRange(frame);
        }
        var reader = new System.Buffers.SequenceReader<byte>(new System.Buffers.ReadOnlySequence<byte>(bytes.ToArray()));
        var read = new List<(uint Sequence, int[] Counts, uint Lost)>();
        while (decoder.TryRead(ref reader, out BoardMessage message))
        {
            if (message.Type == MessageType.Samples)
            {
                Assert.True(message.Samples.IsEmpty);
                read.Add((message.Sequence, message.WideSamples.ToArray(), message.LostBefore));
            }
        }

        Assert.Equal([(0u, 0u), (3u, 2u)], read.Select(r => (r.Sequence, r.Lost)));
        Assert.Equal(first, read[0].Counts);
        Assert.Equal(second, read[1].Counts);
        Assert.Equal(2, decoder.Counters.LostFrames);
        Assert.Equal(0, decoder.Counters.MalformedFrames);
    }

    [Fact]
    public void Commands_carry_their_arguments_little_endian()
    {
        var buffer = new byte[16];

        int n = FrameEncoder.WriteSetRate(buffer, 1500);

        Assert.Equal(new byte[] { 0xA5, 0x5A, 0x84, 2, 0xDC, 0x05 }, buffer[..6]);
        Assert.Equal(8, n);
        Assert.Throws<ArgumentOutOfRangeException>(() => FrameEncoder.WriteSetChannels(buffer, 17));
        Assert.Throws<ArgumentOutOfRangeException>(() => FrameEncoder.WriteSetRate(buffer, 0));
    }
}
