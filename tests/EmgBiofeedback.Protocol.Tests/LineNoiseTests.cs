using EmgBiofeedback.Protocol;

namespace EmgBiofeedback.Protocol.Tests;

/// <summary>
/// Line noise that inserts bytes (not only flips bits): the end-to-end run of issue 18 put 1 % random bytes on the serial
/// line and found one sample recorded with values the board never sent. CRC-16 lets about one corrupted frame in 65536
/// through; with a byte slipped in, a frame's counts shift by a byte, which the HELLO's 10-bit resolution rules out.
/// </summary>
public class LineNoiseTests
{
    [Fact]
    public void One_percent_of_random_bytes_slipped_into_a_million_frames_never_delivers_a_value_the_board_did_not_send()
    {
        const int frames = 1_000_000;
        var random = new Random(18);
        var noisy = new List<byte>(frames * 27);
        noisy.AddRange(StreamBuilder.Hello(StreamBuilder.Board()));
        int inserted = 0;
        for (uint s = 0; s < frames; s++)
        {
            foreach (byte b in StreamBuilder.Samples(s, 8))
            {
                if (random.NextDouble() < 0.01)
                {
                    noisy.Add((byte)random.Next(256));
                    inserted++;
                }
                noisy.Add(b);
            }
        }

        DecodedStream decoded = new DecodedStream().Feed(noisy.ToArray(), chunk: 4096);

        Assert.Equal(0, decoded.WrongValues);
        // Every frame is delivered once or counted lost: nothing invented, nothing doubled, nothing uncounted.
        Assert.Equal(decoded.Sequences.Distinct().Count(), decoded.Sequences.Count);
        Assert.Equal(frames, decoded.Sequences.Count + decoded.Decoder.Counters.LostFrames + (frames - 1 - decoded.Sequences[^1]));
        Assert.True(decoded.Decoder.Counters.MalformedFrames > 0, "the resolution check rejected nothing: no CRC false accept in this stream?");
        Assert.True(inserted > frames / 5);
    }
}
