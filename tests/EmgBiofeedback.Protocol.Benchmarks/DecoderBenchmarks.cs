using System.Buffers;
using BenchmarkDotNet.Attributes;
using EmgBiofeedback.Protocol;

namespace EmgBiofeedback.Protocol.Benchmarks;

/// <summary>
/// Frames per second through the decoder on one core, 8 channels per frame. The baseline is the CRC alone
/// over the same bytes: the least any checked decoder must do. Each operation is one frame.
/// </summary>
[MemoryDiagnoser]
public class DecoderBenchmarks
{
    private const int Frames = 10_000;
    private const int Channels = 8;

    private byte[] _clean = [];
    private byte[] _garbled = [];
    private ReadOnlySequence<byte> _segmented;

    [GlobalSetup]
    public void Setup()
    {
        _clean = BuildStream(garbageRate: 0);
        _garbled = BuildStream(garbageRate: 0.01);
        _segmented = SplitIntoSegments(_clean, 4096);
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Frames)]
    public ushort Crc_only_over_the_same_bytes() => Crc16Ccitt.Compute(_clean);

    [Benchmark(OperationsPerInvoke = Frames)]
    public long Decode_contiguous_buffer() => Decode(new ReadOnlySequence<byte>(_clean));

    [Benchmark(OperationsPerInvoke = Frames)]
    public long Decode_4KiB_pipe_segments() => Decode(_segmented);

    [Benchmark(OperationsPerInvoke = Frames)]
    public long Decode_with_1_percent_garbage() => Decode(new ReadOnlySequence<byte>(_garbled));

    private static long Decode(ReadOnlySequence<byte> buffer)
    {
        var decoder = new BoardStreamDecoder();
        var reader = new SequenceReader<byte>(buffer);
        long sum = 0;
        while (decoder.TryRead(ref reader, out BoardMessage message))
        {
            if (message.Type == MessageType.Samples)
            {
                sum += message.Samples[Channels - 1];
            }
        }
        return sum;
    }

    private static byte[] BuildStream(double garbageRate)
    {
        var rng = new Random(42);
        var bytes = new List<byte>();
        var frame = new byte[WireFormat.MaxFrameSize];
        int n = FrameEncoder.WriteHello(frame, new BoardInfo(1, 1, 0, 0, Channels, 1000, 10, 5000, true, 0, "bench"));
        bytes.AddRange(frame[..n]);
        var counts = new ushort[Channels];
        for (uint seq = 0; seq < Frames; seq++)
        {
            for (int c = 0; c < Channels; c++)
            {
                counts[c] = (ushort)rng.Next(1024);
            }
            n = FrameEncoder.WriteSamples(frame, seq, counts);
            for (int i = 0; i < n; i++)
            {
                if (rng.NextDouble() < garbageRate)
                {
                    bytes.Add((byte)rng.Next(256));
                }
                bytes.Add(frame[i]);
            }
        }
        return bytes.ToArray();
    }

    private static ReadOnlySequence<byte> SplitIntoSegments(byte[] data, int size)
    {
        var first = new Segment(data.AsMemory(0, Math.Min(size, data.Length)), 0);
        Segment last = first;
        for (int offset = size; offset < data.Length; offset += size)
        {
            last = last.Append(data.AsMemory(offset, Math.Min(size, data.Length - offset)));
        }
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
