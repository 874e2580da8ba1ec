using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using V1 = EmgBiofeedback.Contracts.V1;

namespace EmgBiofeedback.Server;

/// <summary>
/// emg.v1.Live bound by hand: the service, methods and messages of live.proto, as the generated binding
/// (<c>V1.Live.BindService</c>) binds them, except that the two streams that carry activation frames have response
/// types that write a frame's shared encoding (<see cref="SubscriberFrame"/>, <see cref="SubscriberLiveMessage"/>):
/// grpc-dotnet's generated marshaller would serialise the frame once per subscriber. Every client (the generated .NET
/// client, grpcio, gRPC-Web in browsers) receives the very messages live.proto describes. grpc-dotnet finds this binding
/// through [BindServiceMethod] on <see cref="LiveServiceBase"/>, and server reflection finds the service's descriptor
/// through <see cref="Descriptor"/>. A test checks it against live.proto's service, method by method.
/// </summary>
internal static class LiveBinding
{
    /// <summary>The service as live.proto describes it (read by server reflection).</summary>
    public static Google.Protobuf.Reflection.ServiceDescriptor Descriptor => V1.Live.Descriptor;

    private static readonly string ServiceName = V1.Live.Descriptor.FullName;

    private static readonly Marshaller<SubscriberFrame> SubscriberFrameMarshaller =
        Marshallers.Create<SubscriberFrame>(SubscriberFrame.Serialize, _ => throw ServerSideOnly());

    private static readonly Marshaller<SubscriberLiveMessage> SubscriberLiveMessageMarshaller =
        Marshallers.Create<SubscriberLiveMessage>(SubscriberLiveMessage.Serialize, _ => throw ServerSideOnly());

    public static readonly Method<V1.GetStatusRequest, V1.Status> GetStatus =
        new(MethodType.Unary, ServiceName, "GetStatus", Protobuf(V1.GetStatusRequest.Parser), Protobuf(V1.Status.Parser));

    public static readonly Method<V1.StreamActivationRequest, SubscriberFrame> StreamActivation =
        new(MethodType.ServerStreaming, ServiceName, "StreamActivation", Protobuf(V1.StreamActivationRequest.Parser), SubscriberFrameMarshaller);

    public static readonly Method<V1.StreamWaveformRequest, V1.WaveformBlock> StreamWaveform =
        new(MethodType.ServerStreaming, ServiceName, "StreamWaveform", Protobuf(V1.StreamWaveformRequest.Parser), Protobuf(V1.WaveformBlock.Parser));

    public static readonly Method<V1.StreamEventsRequest, V1.Event> StreamEvents =
        new(MethodType.ServerStreaming, ServiceName, "StreamEvents", Protobuf(V1.StreamEventsRequest.Parser), Protobuf(V1.Event.Parser));

    public static readonly Method<V1.StreamActivationRequest, SubscriberLiveMessage> StreamLive =
        new(MethodType.ServerStreaming, ServiceName, "StreamLive", Protobuf(V1.StreamActivationRequest.Parser), SubscriberLiveMessageMarshaller);

    /// <summary>
    /// The message each bound response type writes on the wire, for the check against live.proto (the others are the
    /// generated message types themselves).
    /// </summary>
    public static MessageDescriptor WireMessage(Type responseType) =>
        responseType == typeof(SubscriberFrame) ? V1.ActivationFrame.Descriptor
        : responseType == typeof(SubscriberLiveMessage) ? V1.LiveMessage.Descriptor
        : throw new ArgumentException($"{responseType.Name} is not a response type of its own.", nameof(responseType));

    public static void BindService(ServiceBinderBase binder, LiveServiceBase? service)
    {
        binder.AddMethod(GetStatus, service is null ? null : new UnaryServerMethod<V1.GetStatusRequest, V1.Status>(service.GetStatus));
        binder.AddMethod(StreamActivation, service is null ? null : new ServerStreamingServerMethod<V1.StreamActivationRequest, SubscriberFrame>(service.StreamActivation));
        binder.AddMethod(StreamWaveform, service is null ? null : new ServerStreamingServerMethod<V1.StreamWaveformRequest, V1.WaveformBlock>(service.StreamWaveform));
        binder.AddMethod(StreamEvents, service is null ? null : new ServerStreamingServerMethod<V1.StreamEventsRequest, V1.Event>(service.StreamEvents));
        binder.AddMethod(StreamLive, service is null ? null : new ServerStreamingServerMethod<V1.StreamActivationRequest, SubscriberLiveMessage>(service.StreamLive));
    }

    /// <summary>Serialises a generated message exactly as the generated marshaller does.</summary>
    public static void Serialize<T>(T message, SerializationContext context)
        where T : IBufferMessage
    {
        context.SetPayloadLength(message.CalculateSize());
        message.WriteTo(context.GetBufferWriter());
        context.Complete();
    }

    private static Marshaller<T> Protobuf<T>(MessageParser<T> parser)
        where T : IMessage<T>, IBufferMessage =>
        Marshallers.Create<T>(Serialize, context => parser.ParseFrom(context.PayloadAsReadOnlySequence()));

    private static NotSupportedException ServerSideOnly() =>
        new("This response type is written by the server only; clients read the generated message (live.proto).");

    /// <summary>The methods of emg.v1.Live, as the service implements them.</summary>
    [BindServiceMethod(typeof(LiveBinding), nameof(BindService))]
    public abstract class LiveServiceBase
    {
        public abstract Task<V1.Status> GetStatus(V1.GetStatusRequest request, ServerCallContext context);

        public abstract Task StreamActivation(V1.StreamActivationRequest request, IServerStreamWriter<SubscriberFrame> responseStream, ServerCallContext context);

        public abstract Task StreamWaveform(V1.StreamWaveformRequest request, IServerStreamWriter<V1.WaveformBlock> responseStream, ServerCallContext context);

        public abstract Task StreamEvents(V1.StreamEventsRequest request, IServerStreamWriter<V1.Event> responseStream, ServerCallContext context);

        public abstract Task StreamLive(V1.StreamActivationRequest request, IServerStreamWriter<SubscriberLiveMessage> responseStream, ServerCallContext context);
    }
}
