using EmgBiofeedback.Acquisition;
using EmgBiofeedback.Pipeline;
using EmgBiofeedback.Protocol;
using EmgBiofeedback.Sessions;
using Grpc.Core;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;
using V1 = EmgBiofeedback.Contracts.V1;

namespace EmgBiofeedback.Server;

/// <summary>
/// emg.v1.Live: thin over the live pipeline. Each stream reads its own bounded subscription, so a slow
/// client only loses its own frames (and is told how many in missed_before); the call's cancellation
/// ends the stream and releases the subscription. Activation frames are written from their shared
/// encoding (<see cref="LiveBinding"/>), each write's latency recorded (<see cref="DeliveryLatency"/>);
/// StreamActivation's streams are written by the fan-out's delivery loop (<see cref="ActivationStreamSink"/>).
/// </summary>
[Authorize(Policy = ApiRoles.ViewPolicy)]
internal sealed class LiveService(
    LivePipeline pipeline,
    StationStatusSource status,
    DeliveryLatency latency,
    IOptions<LiveOptions> liveOptions,
    IOptions<Dsp.SignalChainOptions> dspOptions) : LiveBinding.LiveServiceBase
{
    private const int EventQueueCapacity = 256;

    public override Task<V1.Status> GetStatus(V1.GetStatusRequest request, ServerCallContext context) =>
        Task.FromResult(ProtoMapping.ToProto(status.Capture()));

    public override async Task StreamActivation(V1.StreamActivationRequest request, IServerStreamWriter<SubscriberFrame> responseStream, ServerCallContext context)
    {
        int[]? channels = request.Channels.Count == 0 ? null : CheckedChannels(request.Channels, "channels");
        int keepEvery = KeepEvery(request.RateHz);
        CancellationToken cancellationToken = context.CancellationToken;
        if (liveOptions.Value is { SharedEncoding: true, WriteLoop: true })
        {
            // The fan-out's delivery loop writes this stream (ActivationStreamSink); the call waits for its end.
            await context.WriteResponseHeadersAsync([]);
            var sink = new ActivationStreamSink(context.GetHttpContext().Response.BodyWriter, channels, latency, liveOptions.Value.SubscriberQueueFrames);
            using (pipeline.Activation.Attach(sink, keepEvery))
            {
                try
                {
                    await sink.Ended.WaitAsync(cancellationToken);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    // The client went away or the server is stopping: the stream simply ends.
                }
            }
            await sink.CloseAsync();
            return;
        }
        using Subscription<ActivationFrame> subscription = pipeline.Activation.Subscribe(liveOptions.Value.SubscriberQueueFrames, keepEvery);
        var message = new SubscriberFrame(channels, liveOptions.Value.SharedEncoding);
        try
        {
            await foreach (ActivationFrame frame in subscription.Reader.ReadAllAsync(cancellationToken))
            {
                message.Set(frame, subscription.TakeMissed());
                await responseStream.WriteAsync(message, cancellationToken);
                latency.Delivered(frame);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The client went away or the server is stopping: the stream simply ends.
        }
    }

    public override async Task StreamWaveform(V1.StreamWaveformRequest request, IServerStreamWriter<V1.WaveformBlock> responseStream, ServerCallContext context)
    {
        int[] channels = request.Channels.Count == 0
            ? Enumerable.Range(0, Math.Max(pipeline.ChannelCount, Protocol.WireFormat.MaxChannels)).ToArray()
            : CheckedChannels(request.Channels, "channels");
        if (!Enum.IsDefined(request.Kind))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"kind: {(int)request.Kind} is not a WaveformKind."));
        }
        bool raw = request.Kind == V1.WaveformKind.Raw;
        using Subscription<WaveformBlock> subscription = pipeline.Waveforms.Subscribe(liveOptions.Value.SubscriberQueueFrames);
        CancellationToken cancellationToken = context.CancellationToken;
        try
        {
            await foreach (WaveformBlock block in subscription.Reader.ReadAllAsync(cancellationToken))
            {
                V1.WaveformBlock message = ProtoMapping.ToProto(block, channels, raw);
                message.MissedBefore = (uint)Math.Min(subscription.TakeMissed(), uint.MaxValue);
                await responseStream.WriteAsync(message, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    public override async Task StreamEvents(V1.StreamEventsRequest request, IServerStreamWriter<V1.Event> responseStream, ServerCallContext context)
    {
        using Subscription<LiveEvent> subscription = pipeline.Events.Subscribe(EventQueueCapacity);
        CancellationToken cancellationToken = context.CancellationToken;
        try
        {
            // Events are rare: answering with headers now tells the client its subscription is in place, so
            // it can act (start a session) knowing it will see the resulting events.
            await context.WriteResponseHeadersAsync([]);
            await foreach (LiveEvent e in subscription.Reader.ReadAllAsync(cancellationToken))
            {
                V1.Event message = ProtoMapping.ToProto(e);
                message.MissedBefore = (uint)Math.Min(subscription.TakeMissed(), uint.MaxValue);
                await responseStream.WriteAsync(message, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    public override async Task StreamLive(V1.StreamActivationRequest request, IServerStreamWriter<SubscriberLiveMessage> responseStream, ServerCallContext context)
    {
        int[]? channels = request.Channels.Count == 0 ? null : CheckedChannels(request.Channels, "channels");
        int keepEvery = KeepEvery(request.RateHz);
        using Subscription<ActivationFrame> frames = pipeline.Activation.Subscribe(liveOptions.Value.SubscriberQueueFrames, keepEvery);
        using Subscription<LiveEvent> events = pipeline.Events.Subscribe(EventQueueCapacity);
        CancellationToken cancellationToken = context.CancellationToken;
        var live = new SubscriberLiveMessage(channels, liveOptions.Value.SharedEncoding);
        try
        {
            await context.WriteResponseHeadersAsync([]);
            Task<bool> frameReady = frames.Reader.WaitToReadAsync(cancellationToken).AsTask();
            Task<bool> eventReady = events.Reader.WaitToReadAsync(cancellationToken).AsTask();
            while (true)
            {
                // Events first: a phase prompt must not wait behind frames.
                while (events.Reader.TryRead(out LiveEvent? e))
                {
                    V1.Event message = ProtoMapping.ToProto(e);
                    message.MissedBefore = (uint)Math.Min(events.TakeMissed(), uint.MaxValue);
                    live.SetEvent(message);
                    await responseStream.WriteAsync(live, cancellationToken);
                }
                if (frames.Reader.TryRead(out ActivationFrame? frame))
                {
                    live.SetActivation(frame, frames.TakeMissed());
                    await responseStream.WriteAsync(live, cancellationToken);
                    latency.Delivered(frame);
                    continue;
                }
                if (frameReady.IsCompleted)
                {
                    if (!await frameReady)
                    {
                        return;
                    }
                    frameReady = frames.Reader.WaitToReadAsync(cancellationToken).AsTask();
                }
                if (eventReady.IsCompleted)
                {
                    if (!await eventReady)
                    {
                        return;
                    }
                    eventReady = events.Reader.WaitToReadAsync(cancellationToken).AsTask();
                }
                if (!frames.Reader.TryPeek(out _) && !events.Reader.TryPeek(out _))
                {
                    await Task.WhenAny(frameReady, eventReady);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private double OutputRate() => pipeline.OutputRateHz > 0 ? pipeline.OutputRateHz : dspOptions.Value.OutputRateHz;

    private int KeepEvery(uint rateHz)
    {
        double output = OutputRate();
        if (rateHz == 0)
        {
            return 1;
        }
        double ratio = output / rateHz;
        if (rateHz > output || Math.Abs(ratio - Math.Round(ratio)) > 1e-9)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"rate_hz: {rateHz} must divide the output rate of {output:0.##} Hz (e.g. {output:0.##}, {output / 2:0.##}, {output / 5:0.##})."));
        }
        return (int)Math.Round(ratio);
    }

    private int[] CheckedChannels(IList<uint> requested, string field)
    {
        int available = pipeline.ChannelCount > 0 ? pipeline.ChannelCount : Protocol.WireFormat.MaxChannels;
        var result = new int[requested.Count];
        for (int i = 0; i < requested.Count; i++)
        {
            if (requested[i] >= available)
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"{field}: channel {requested[i]} does not exist (channels are numbered 0 to {available - 1})."));
            }
            if (Array.IndexOf(result, (int)requested[i], 0, i) >= 0)
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"{field}: channel {requested[i]} is listed twice."));
            }
            result[i] = (int)requested[i];
        }
        return result;
    }
}
