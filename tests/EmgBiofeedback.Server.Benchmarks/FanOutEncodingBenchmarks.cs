using System.Buffers;
using BenchmarkDotNet.Attributes;
using EmgBiofeedback.Acquisition;
using EmgBiofeedback.Dsp;
using EmgBiofeedback.Pipeline;
using EmgBiofeedback.Sessions;
using Grpc.Core;

namespace EmgBiofeedback.Server.Benchmarks;

/// <summary>
/// One tick of the fan-out's encoding: a new activation frame (8 muscles) written as the gRPC payload of each of N
/// subscribers, through the response marshaller grpc-dotnet calls. The baseline serialises the frame's message once per
/// subscriber, as the generated marshaller does (Live:SharedEncoding=false); the shared path encodes it once per tick
/// and copies the bytes. Each operation is one subscriber's write; the tick's one-off costs (the frame, its conversion
/// to the message, the shared encoding) are spread over its subscribers.
/// </summary>
[MemoryDiagnoser]
public class FanOutEncodingBenchmarks
{
    private static readonly string[] Labels = ["SCM L", "SCM R", "UT L", "UT R", "SPL L", "SPL R", "LS L", "LS R"];

    private readonly BufferContext _context = new();
    private SubscriberFrame[] _perSubscriber = [];
    private SubscriberFrame[] _shared = [];
    private SubscriberFrame[] _sharedWithSelection = [];
    private MuscleActivation[] _muscles = [];
    private ulong _sequence;

    [Params(100, 1000)]
    public int Subscribers { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _perSubscriber = Enumerable.Range(0, Subscribers).Select(_ => new SubscriberFrame(null, sharedEncoding: false)).ToArray();
        _shared = Enumerable.Range(0, Subscribers).Select(_ => new SubscriberFrame(null, sharedEncoding: true)).ToArray();
        _sharedWithSelection = Enumerable.Range(0, Subscribers).Select(_ => new SubscriberFrame([1, 0], sharedEncoding: true)).ToArray();
        _muscles = Labels.Select((label, c) => new MuscleActivation(c, label, 12.5f + c, c % 2 == 0 ? 8.25f : null,
            c % 2 == 0 ? TargetState.Inside : TargetState.Unspecified, SignalQualityFlags.None, true)
        {
            TargetSpec = c % 2 == 0 ? new TargetSpec(TargetDirection.Below, 20, 18) : null,
        }).ToArray();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = 1000)]
    public int Serialised_per_subscriber() => WriteTick(_perSubscriber);

    [Benchmark(OperationsPerInvoke = 1000)]
    public int Shared_encoding() => WriteTick(_shared);

    [Benchmark(OperationsPerInvoke = 1000)]
    public int Shared_encoding_two_channels_chosen() => WriteTick(_sharedWithSelection);

    private int WriteTick(SubscriberFrame[] subscribers)
    {
        // OperationsPerInvoke must be a constant: a tick for 1000 subscribers is 1000 / Subscribers ticks for fewer.
        int written = 0;
        for (int tick = 0; tick < 1000 / subscribers.Length; tick++)
        {
            ActivationFrame frame = NewFrame();
            foreach (SubscriberFrame subscriber in subscribers)
            {
                subscriber.Set(frame, missedBefore: 0);
                LiveBinding.StreamActivation.ResponseMarshaller.ContextualSerializer(subscriber, _context.Reset());
                written += _context.Written;
            }
        }
        return written;
    }

    private ActivationFrame NewFrame()
    {
        ulong sequence = ++_sequence;
        return new ActivationFrame
        {
            Sequence = sequence,
            SampleIndex = (long)sequence * 20,
            SampleTimeSeconds = sequence * 0.02,
            ComputedAt = DateTimeOffset.UnixEpoch.AddMilliseconds(sequence * 20),
            ComputedTimestamp = (long)sequence,
            ArrivalTimestamp = (long)sequence,
            Muscles = _muscles,
            Source = SourceKind.SimulatedBoard,
        };
    }

    /// <summary>What grpc-dotnet gives the marshaller: a payload length to declare and a buffer writer.</summary>
    private sealed class BufferContext : SerializationContext
    {
        private readonly ArrayBufferWriter<byte> _buffer = new(1 << 12);

        public int Written => _buffer.WrittenCount;

        public BufferContext Reset()
        {
            _buffer.ResetWrittenCount();
            return this;
        }

        public override void SetPayloadLength(int payloadLength)
        {
        }

        public override IBufferWriter<byte> GetBufferWriter() => _buffer;

        public override void Complete()
        {
        }

        public override void Complete(byte[] payload) => throw new NotSupportedException();
    }
}
