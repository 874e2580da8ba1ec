using System.Buffers;
using System.Diagnostics.Metrics;
using System.IO.Pipelines;
using Microsoft.Extensions.DependencyInjection;
using System.Reflection;
using EmgBiofeedback.Acquisition;
using EmgBiofeedback.Dsp;
using EmgBiofeedback.Pipeline;
using EmgBiofeedback.Sessions;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using V1 = EmgBiofeedback.Contracts.V1;

namespace EmgBiofeedback.Server.Tests;

/// <summary>
/// An activation frame is encoded once per tick and its bytes shared by every subscriber; what each subscriber receives
/// is what the per-subscriber path (the generated message and serialiser) would have sent it, byte for byte.
/// </summary>
public class SharedEncodingTests
{
    private static readonly string[] Labels = ["SCM L", "SCM R", "UT L", "UT R", "SPL L", "SPL R", "LS L", "LS R"];

    public static TheoryData<int[]?, long> Subscribers()
    {
        int[]?[] selections = [null, [0], [1, 0], [7, 2, 5], [0, 1, 2, 3, 4, 5, 6, 7], [6, 9, 3]];
        long[] missed = [0, 1, 127, 128, 300, 16_384, uint.MaxValue, 1L << 40];
        var data = new TheoryData<int[]?, long>();
        foreach (int[]? channels in selections)
        {
            foreach (long m in missed)
            {
                data.Add(channels, m);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Subscribers))]
    public void A_subscriber_receives_exactly_the_message_the_per_subscriber_path_builds_for_it(int[]? channels, long missed)
    {
        var context = new BufferContext();
        for (int seed = 0; seed < 20; seed++)
        {
            ActivationFrame frame = Frame(seed);
            V1.ActivationFrame expected = ProtoMapping.ToProto(frame, channels);
            expected.MissedBefore = (uint)Math.Min(missed, uint.MaxValue);

            byte[] shared = Serialize(context, LiveBinding.StreamActivation.ResponseMarshaller, Filled(new SubscriberFrame(channels, sharedEncoding: true), frame, missed));
            byte[] perSubscriber = Serialize(context, LiveBinding.StreamActivation.ResponseMarshaller, Filled(new SubscriberFrame(channels, sharedEncoding: false), frame, missed));

            Assert.Equal(expected.ToByteArray(), shared);
            Assert.Equal(expected.ToByteArray(), perSubscriber);
            Assert.Equal(expected, V1.ActivationFrame.Parser.ParseFrom(shared));
        }
    }

    [Theory]
    [MemberData(nameof(Subscribers))]
    public void StreamLive_carries_the_same_frame_as_its_activation_field(int[]? channels, long missed)
    {
        var context = new BufferContext();
        ActivationFrame frame = Frame(seed: 7);
        V1.ActivationFrame expected = ProtoMapping.ToProto(frame, channels);
        expected.MissedBefore = (uint)Math.Min(missed, uint.MaxValue);
        byte[] expectedBytes = new V1.LiveMessage { Activation = expected }.ToByteArray();

        foreach (bool sharedEncoding in (bool[])[true, false])
        {
            var live = new SubscriberLiveMessage(channels, sharedEncoding);
            live.SetActivation(frame, missed);
            Assert.Equal(expectedBytes, Serialize(context, LiveBinding.StreamLive.ResponseMarshaller, live));
        }

        var e = new V1.Event { Sequence = 3, Kind = V1.EventKind.Marker, Label = "sensory trick", MissedBefore = 2 };
        var eventMessage = new SubscriberLiveMessage(channels, sharedEncoding: true);
        eventMessage.SetActivation(frame, missed);
        eventMessage.SetEvent(e);
        Assert.Equal(new V1.LiveMessage { Event = e }.ToByteArray(), Serialize(context, LiveBinding.StreamLive.ResponseMarshaller, eventMessage));
    }

    [Fact]
    public void A_frame_without_muscles_or_with_any_field_at_its_default_is_written_the_same()
    {
        var context = new BufferContext();
        ActivationFrame empty = new()
        {
            Sequence = 0, SampleIndex = 0, SampleTimeSeconds = 0, ComputedAt = DateTimeOffset.UnixEpoch, ComputedTimestamp = 0, Muscles = [],
        };
        foreach (long missed in (long[])[0, 5])
        {
            V1.ActivationFrame expected = ProtoMapping.ToProto(empty, null);
            expected.MissedBefore = (uint)missed;
            Assert.Equal(expected.ToByteArray(), Serialize(context, LiveBinding.StreamActivation.ResponseMarshaller, Filled(new SubscriberFrame(null, true), empty, missed)));
        }
    }

    [Theory]
    [MemberData(nameof(Subscribers))]
    public void A_stream_written_by_the_delivery_loop_carries_the_gRPC_message_grpc_dotnet_writes(int[]? channels, long missed)
    {
        using ServiceProvider services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var latency = new DeliveryLatency(services.GetRequiredService<IMeterFactory>(), TimeProvider.System);
        var pipe = new Pipe();
        var sink = new ActivationStreamSink(pipe.Writer, channels, latency);
        var context = new BufferContext();
        var expected = new List<byte>();
        for (int seed = 0; seed < 20; seed++)
        {
            ActivationFrame frame = Frame(seed);
            long reported = seed == 0 ? missed : seed % 3;
            Assert.True(sink.TryDeliver(frame, reported));
            // grpc-dotnet's framing of the message the per-subscriber path serialises: flag 0, length big-endian, payload.
            byte[] payload = Serialize(context, LiveBinding.StreamActivation.ResponseMarshaller, Filled(new SubscriberFrame(channels, sharedEncoding: false), frame, reported));
            expected.Add(0);
            expected.AddRange(BitConverter.GetBytes((uint)payload.Length).Reverse());
            expected.AddRange(payload);
        }
        Assert.True(pipe.Reader.TryRead(out ReadResult read));
        Assert.Equal(expected.ToArray(), read.Buffer.ToArray());
        Assert.Equal(20, latency.ComputedToStream.Summarise().Count);
    }

    [Fact]
    public async Task A_stream_that_is_not_read_keeps_a_backlog_then_misses_and_closing_cancels_the_waiting_flush()
    {
        using ServiceProvider services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var latency = new DeliveryLatency(services.GetRequiredService<IMeterFactory>(), TimeProvider.System);
        // Kestrel's stream output in small: every frame's flush waits for the reader.
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 64, resumeWriterThreshold: 32, useSynchronizationContext: false));
        var sink = new ActivationStreamSink(pipe.Writer, null, latency, backlogFrames: 1);

        Assert.True(sink.TryDeliver(Frame(1), 0)); // 100-odd bytes: over the threshold, the flush waits
        Assert.True(sink.TryDeliver(Frame(2), 0)); // waits in the backlog
        Assert.False(sink.TryDeliver(Frame(3), 0)); // the backlog is full: missed, the fan-out counts it
        ReadResult read = await pipe.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(Frame(1).Sequence, V1.ActivationFrame.Parser.ParseFrom(read.Buffer.Slice(5).ToArray()).Sequence);
        pipe.Reader.AdvanceTo(read.Buffer.End);
        // Frame 1's flush completes: the backlog's frame 2 goes out by itself.
        read = await pipe.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(Frame(2).Sequence, V1.ActivationFrame.Parser.ParseFrom(read.Buffer.Slice(5).ToArray()).Sequence);
        pipe.Reader.AdvanceTo(read.Buffer.End);
        await Eventually.TrueAsync(() => sink.TryDeliver(Frame(4), 1), TimeSpan.FromSeconds(5), "the sink taking frames again");
        Assert.False(sink.Ended.IsCompleted);
        // Frame 4 reaches the stream (at once, or from the backlog when frame 2's flush completes) and its flush waits:
        // the reader looks at it without consuming it.
        read = await pipe.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5));
        V1.ActivationFrame last = V1.ActivationFrame.Parser.ParseFrom(read.Buffer.Slice(5).ToArray());
        Assert.Equal(1u, last.MissedBefore);
        Assert.Equal(Frame(4).Sequence, last.Sequence);
        long written = read.Buffer.Length;
        pipe.Reader.AdvanceTo(read.Buffer.Start, read.Buffer.End);

        // A flush still waiting when the call ends is cancelled: closing returns, and nothing more is written.
        await sink.CloseAsync().WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(sink.TryDeliver(Frame(5), 0)); // closed: accepted and dropped, never written
        // Nothing new since the reader examined frame 4 (a read returns only once more has been written).
        Assert.False(pipe.Reader.TryRead(out read) && read.Buffer.Length > written);
    }

    [Fact]
    public void A_stream_whose_reader_is_gone_ends_its_call()
    {
        using ServiceProvider services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var latency = new DeliveryLatency(services.GetRequiredService<IMeterFactory>(), TimeProvider.System);
        var pipe = new Pipe();
        var sink = new ActivationStreamSink(pipe.Writer, null, latency);
        pipe.Reader.Complete(); // the client reset the stream
        Assert.True(sink.TryDeliver(Frame(1), 0));
        Assert.True(sink.Ended.IsCompleted);
        Assert.Equal(0, latency.ComputedToStream.Summarise().Count);
    }

    [Fact]
    public void Writing_a_frame_to_a_thousand_subscribers_allocates_nothing_per_subscriber()
    {
        int[]?[] selections = [null, [0, 1], [7, 2, 5], null, null];
        SubscriberFrame[] frames = Enumerable.Range(0, 1000).Select(i => new SubscriberFrame(selections[i % selections.Length], sharedEncoding: true)).ToArray();
        SubscriberLiveMessage[] lives = Enumerable.Range(0, 1000).Select(i => new SubscriberLiveMessage(selections[i % selections.Length], sharedEncoding: true)).ToArray();
        Action<SubscriberFrame, SerializationContext> writeFrame = LiveBinding.StreamActivation.ResponseMarshaller.ContextualSerializer;
        Action<SubscriberLiveMessage, SerializationContext> writeLive = LiveBinding.StreamLive.ResponseMarshaller.ContextualSerializer;
        var context = new BufferContext();
        WriteAll(Frame(seed: 1)); // warm up

        long allocated = 0;
        for (int tick = 2; tick < 12; tick++)
        {
            ActivationFrame frame = Frame(tick);
            _ = ActivationFrameEncoding.Of(frame); // the one encoding of the tick, by its first subscriber
            long before = GC.GetAllocatedBytesForCurrentThread();
            WriteAll(frame);
            allocated += GC.GetAllocatedBytesForCurrentThread() - before;
        }

        Assert.Equal(0, allocated);

        // The measurement sees what the per-subscriber path allocates for a channel selection (its own message).
        var own = new SubscriberFrame([0, 1], sharedEncoding: false);
        ActivationFrame next = Frame(seed: 99);
        long start = GC.GetAllocatedBytesForCurrentThread();
        own.Set(next, missedBefore: 0);
        writeFrame(own, context.Reset());
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - start > 0);

        void WriteAll(ActivationFrame frame)
        {
            for (int i = 0; i < frames.Length; i++)
            {
                frames[i].Set(frame, missedBefore: i % 7);
                writeFrame(frames[i], context.Reset());
                lives[i].SetActivation(frame, missedBefore: i % 3);
                writeLive(lives[i], context.Reset());
            }
        }
    }

    [Fact]
    public void The_hand_written_binding_serves_every_method_of_live_proto_with_its_messages()
    {
        var binder = new RecordingBinder();
        LiveBinding.BindService(binder, null);

        Assert.Equal(V1.Live.Descriptor.Methods.Select(m => m.Name).Order(), binder.Methods.Select(m => m.Method.Name).Order());
        Assert.Same(V1.Live.Descriptor, LiveBinding.Descriptor);
        foreach ((IMethod method, Type request, Type response) in binder.Methods)
        {
            MethodDescriptor proto = V1.Live.Descriptor.FindMethodByName(method.Name);
            Assert.Equal($"/{proto.Service.FullName}/{proto.Name}", method.FullName);
            Assert.Equal(proto.IsServerStreaming, method.Type is MethodType.ServerStreaming or MethodType.DuplexStreaming);
            Assert.Equal(proto.IsClientStreaming, method.Type is MethodType.ClientStreaming or MethodType.DuplexStreaming);
            Assert.Same(proto.InputType, GeneratedDescriptor(request));
            Assert.Same(proto.OutputType, GeneratedDescriptor(response) ?? LiveBinding.WireMessage(response));
        }
    }

    private static MessageDescriptor? GeneratedDescriptor(Type type) =>
        typeof(IMessage).IsAssignableFrom(type) ? (MessageDescriptor?)type.GetProperty("Descriptor", BindingFlags.Public | BindingFlags.Static)?.GetValue(null) : null;

    private static SubscriberFrame Filled(SubscriberFrame message, ActivationFrame frame, long missed)
    {
        message.Set(frame, missed);
        return message;
    }

    private static byte[] Serialize<T>(BufferContext context, Marshaller<T> marshaller, T message)
    {
        marshaller.ContextualSerializer(message, context.Reset());
        return context.Written.ToArray();
    }

    /// <summary>A frame as the pipeline builds them, with every kind of value: calibrated or not, targets, quality bits, settling.</summary>
    private static ActivationFrame Frame(int seed)
    {
        var random = new Random(seed);
        var muscles = new MuscleActivation[Labels.Length];
        for (int c = 0; c < muscles.Length; c++)
        {
            bool calibrated = random.Next(3) > 0;
            TargetSpec? target = calibrated && random.Next(2) == 0
                ? new TargetSpec(random.Next(2) == 0 ? TargetDirection.Below : TargetDirection.Above, random.Next(5, 80), random.Next(1, 5))
                : null;
            muscles[c] = new MuscleActivation(
                c,
                Labels[c],
                (float)(random.NextDouble() * 300),
                calibrated ? (float)(random.NextDouble() * 120) : null,
                target is null ? TargetState.Unspecified : (TargetState)random.Next(1, 4),
                (SignalQualityFlags)random.Next(16),
                random.Next(10) > 0)
            {
                TargetSpec = target,
            };
        }
        long index = 19 + (20L * random.Next(1_000_000));
        return new ActivationFrame
        {
            Sequence = (ulong)random.NextInt64(1, long.MaxValue),
            SampleIndex = index,
            SampleTimeSeconds = index / 1000.0,
            ComputedAt = DateTimeOffset.UnixEpoch.AddTicks(random.NextInt64(0, 1L << 60)),
            ComputedTimestamp = random.NextInt64(),
            Muscles = muscles,
            Source = (SourceKind)random.Next(0, 4),
        };
    }

    /// <summary>The serialisation context grpc-dotnet gives a marshaller, over a buffer; checks the declared payload length.</summary>
    private sealed class BufferContext : SerializationContext
    {
        private readonly ArrayBufferWriter<byte> _buffer = new(1 << 16);
        private int _declared = -1;

        public ReadOnlySpan<byte> Written => _buffer.WrittenSpan;

        public BufferContext Reset()
        {
            _buffer.ResetWrittenCount();
            _declared = -1;
            return this;
        }

        public override void SetPayloadLength(int payloadLength) => _declared = payloadLength;

        public override IBufferWriter<byte> GetBufferWriter() => _buffer;

        public override void Complete()
        {
            if (_declared != _buffer.WrittenCount)
            {
                throw new InvalidOperationException("The payload length declared is not the length written.");
            }
        }

        public override void Complete(byte[] payload) => throw new NotSupportedException("The marshallers write into the buffer writer.");
    }

    private sealed class RecordingBinder : ServiceBinderBase
    {
        public List<(IMethod Method, Type Request, Type Response)> Methods { get; } = [];

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler) =>
            Methods.Add((method, typeof(TRequest), typeof(TResponse)));

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse>? handler) =>
            Methods.Add((method, typeof(TRequest), typeof(TResponse)));

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse>? handler) =>
            Methods.Add((method, typeof(TRequest), typeof(TResponse)));

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse>? handler) =>
            Methods.Add((method, typeof(TRequest), typeof(TResponse)));
    }
}
