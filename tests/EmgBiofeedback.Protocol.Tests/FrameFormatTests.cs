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
