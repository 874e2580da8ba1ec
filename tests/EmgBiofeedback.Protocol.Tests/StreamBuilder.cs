using EmgBiofeedback.Protocol;

namespace EmgBiofeedback.Protocol.Tests;

/// <summary>Builds board byte streams for tests: a HELLO, then sample frames with known contents.</summary>
internal static class StreamBuilder
{
    public static BoardInfo Board(int channels = 8, uint nextSequence = 0) =>
        new(1, 1, 2, 3, channels, 1000, 10, 5000, true, nextSequence, "test");

    /// <summary>Counts that encode the frame's sequence and channel, so a test can check every value.</summary>
    public static ushort CountFor(uint sequence, int channel) => (ushort)((sequence * 7 + (uint)channel * 131) & 0x3FF);

    public static byte[] Hello(BoardInfo info)
    {
        var buffer = new byte[WireFormat.MaxFrameSize];
        int n = FrameEncoder.WriteHello(buffer, info);
        return buffer[..n];
    }

    public static byte[] Samples(uint sequence, int channels)
    {
        Span<ushort> counts = stackalloc ushort[channels];
        for (int c = 0; c < channels; c++)
        {
            counts[c] = CountFor(sequence, c);
        }
        var buffer = new byte[WireFormat.SamplesFrameSize(channels)];
        FrameEncoder.WriteSamples(buffer, sequence, counts);
        return buffer;
    }

    public static byte[] Stream(int frames, int channels = 8, uint firstSequence = 0)
    {
        var bytes = new List<byte>(Hello(Board(channels, firstSequence)));
        for (int i = 0; i < frames; i++)
        {
            bytes.AddRange(Samples(firstSequence + (uint)i, channels));
        }
        return bytes.ToArray();
    }
}
