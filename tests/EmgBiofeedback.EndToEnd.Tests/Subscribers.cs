using System.Diagnostics;
using EmgBiofeedback.Contracts.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace EmgBiofeedback.EndToEnd.Tests;

/// <summary>What one subscriber saw during one phase.</summary>
public sealed class SubscriberCounts
{
    public long Frames;

    /// <summary>Frames the service said it dropped for this subscriber (the sum of missed_before).</summary>
    public long Missed;

    /// <summary>Sequence numbers skipped between consecutive frames of one stream.</summary>
    public long Jumped;

    /// <summary>Frames whose sequence number went backwards (delivered twice or out of order).</summary>
    public long Backwards;

    /// <summary>Skipped sequence numbers that missed_before did not account for (an uncounted loss). missed_before may come
    /// a frame after the jump it explains, so the two are compared per phase, not per frame.</summary>
    public long Uncounted => Math.Max(0, Jumped - Missed) + Backwards;

    /// <summary>Frames of a new service lifetime published before this subscriber was back (it was reconnecting).</summary>
    public long MissedReconnecting;

    public long StreamFailures;

    /// <summary>The longest a frame took from its computation to this subscriber, ms: more than its queue (160 ms) means it
    /// fell behind, and the oldest frames were dropped for it by design (counted in missed_before).</summary>
    public double MaxLagMs;
}

/// <summary>When a sampled subscriber received a frame (<see cref="Stopwatch"/> timestamp), for the serial-byte-to-client latency.</summary>
public readonly record struct Receipt(int Subscriber, int Phase, int Lifetime, long SampleIndex, long ReceivedTimestamp);

/// <summary>One activation frame as the reference subscriber received it.</summary>
public readonly record struct ReceivedFrame(int Lifetime, ulong Sequence, long SampleIndex, DateTimeOffset ComputedAt, DateTimeOffset ReceivedAt);

/// <summary>
/// Activation subscribers over gRPC (.NET, Grpc.Net.Client), spread 50 to an HTTP/2 connection (half of Kestrel's stream
/// limit): each reads as fast as frames come, checks that sequence numbers advance by one or that missed_before says
/// why not, and reconnects after the service went away (a healthy client of a station that restarts). Counts are kept per
/// phase (<see cref="PhaseClock"/>); subscriber 0 also keeps every frame it received (sample index, sequence), the
/// reference the history and the recording are compared with.
/// </summary>
public sealed class Subscribers : IAsyncDisposable
{
    private const int PerConnection = 50;
    private readonly PhaseClock _phases;
    private readonly Func<string> _address;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _readers = [];
    private readonly SubscriberCounts[][] _counts;
    private readonly List<ReceivedFrame> _reference = [];
    private readonly List<Receipt>[] _receipts;
    private GrpcChannel[] _channels = [];
    private readonly int[] _seenLifetime;
    private readonly ulong[] _lastSequence;
    private int _lifetime;

    public Subscribers(int count, int phases, PhaseClock clock, Func<string> address)
    {
        _phases = clock;
        _address = address;
        _counts = Enumerable.Range(0, count).Select(_ => Enumerable.Range(0, phases + 1).Select(_ => new SubscriberCounts()).ToArray()).ToArray();
        Count = count;
        _seenLifetime = new int[count];
        _lastSequence = new ulong[count];
        _receipts = Enumerable.Range(0, count).Select(_ => new List<Receipt>()).ToArray();
    }

    /// <summary>Every tenth subscriber (0, 10, 20, ...) keeps when it received each frame: the latency sample.</summary>
    public const int ReceiptEvery = 10;

    /// <summary>The receipts of the sampled subscribers (<see cref="ReceiptEvery"/>); read after the run.</summary>
    public IEnumerable<Receipt> Receipts()
    {
        for (int i = 0; i < Count; i += ReceiptEvery)
        {
            lock (_receipts[i])
            {
                foreach (Receipt r in _receipts[i].ToArray())
                {
                    yield return r;
                }
            }
        }
    }

    public int Count { get; }

    /// <summary>Every frame subscriber 0 received, in order.</summary>
    public IReadOnlyList<ReceivedFrame> Reference
    {
        get { lock (_reference) { return _reference.ToArray(); } }
    }

    /// <summary>Subscriber <paramref name="subscriber"/>'s counts in phase <paramref name="phase"/>.</summary>
    public SubscriberCounts Counts(int subscriber, int phase) => _counts[subscriber][phase + 1];

    /// <summary>The service restarted (a new process): sequence numbers start again at 1.</summary>
    public void NewLifetime()
    {
        Interlocked.Increment(ref _lifetime);
        foreach (GrpcChannel c in Interlocked.Exchange(ref _channels, []))
        {
            c.Dispose();
        }
    }

    public void Start()
    {
        for (int i = 0; i < Count; i++)
        {
            int index = i;
            _readers.Add(Task.Run(() => ReadAsync(index)));
        }
    }

    /// <summary>Waits until every subscriber has received a frame in phase <paramref name="phase"/>.</summary>
    public Task AllReceivingAsync(int phase, TimeSpan timeout) =>
        Eventually.TrueAsync(() => _counts.All(c => Interlocked.Read(ref c[phase + 1].Frames) > 0), timeout, "every subscriber receiving frames");

    private GrpcChannel Channel(int subscriber)
    {
        int connection = subscriber / PerConnection;
        while (true)
        {
            GrpcChannel[] channels = Volatile.Read(ref _channels);
            if (connection < channels.Length)
            {
                return channels[connection];
            }
            var created = Enumerable.Range(0, (Count + PerConnection - 1) / PerConnection)
                .Select(_ => GrpcChannel.ForAddress(_address(), new GrpcChannelOptions
                {
                    HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = false, ConnectTimeout = TimeSpan.FromSeconds(5) },
                })).ToArray();
            if (Interlocked.CompareExchange(ref _channels, created, channels) != channels)
            {
                foreach (GrpcChannel c in created)
                {
                    c.Dispose();
                }
            }
        }
    }

    private async Task ReadAsync(int index)
    {
        CancellationToken stop = _stop.Token;
        while (!stop.IsCancellationRequested)
        {
            int lifetime = Volatile.Read(ref _lifetime);
            ulong last = 0;
            try
            {
                var live = new Live.LiveClient(Channel(index));
                using AsyncServerStreamingCall<ActivationFrame> call = live.StreamActivation(new StreamActivationRequest(), cancellationToken: stop);
                while (await call.ResponseStream.MoveNext(stop))
                {
                    ActivationFrame frame = call.ResponseStream.Current;
                    long received = Stopwatch.GetTimestamp();
                    if (index % ReceiptEvery == 0)
                    {
                        lock (_receipts[index])
                        {
                            _receipts[index].Add(new Receipt(index, _phases.Current, lifetime, frame.SampleIndex, received));
                        }
                    }
                    SubscriberCounts counts = _counts[index][_phases.Current + 1]; // slot 0: before the first phase
                    double lag = (DateTimeOffset.UtcNow - frame.ComputedAt.ToDateTimeOffset()).TotalMilliseconds;
                    if (lag > counts.MaxLagMs)
                    {
                        counts.MaxLagMs = lag; // one reader per subscriber: no race
                    }
                    Interlocked.Increment(ref counts.Frames);
                    Interlocked.Add(ref counts.Missed, frame.MissedBefore);
                    if (last == 0)
                    {
                        // A new stream: what the service published while this client was away was not this client's.
                        if (_seenLifetime[index] != lifetime)
                        {
                            Interlocked.Add(ref counts.MissedReconnecting, (long)frame.Sequence - 1);
                        }
                        else if (_lastSequence[index] != 0)
                        {
                            Interlocked.Add(ref counts.MissedReconnecting, Math.Max(0, (long)frame.Sequence - (long)_lastSequence[index] - 1));
                        }
                        _seenLifetime[index] = lifetime;
                    }
                    else if (frame.Sequence > last + 1)
                    {
                        Interlocked.Add(ref counts.Jumped, (long)(frame.Sequence - last - 1));
                    }
                    else if (frame.Sequence <= last)
                    {
                        Interlocked.Increment(ref counts.Backwards);
                    }
                    last = frame.Sequence;
                    _lastSequence[index] = last;
                    if (index == 0)
                    {
                        lock (_reference)
                        {
                            _reference.Add(new ReceivedFrame(lifetime, frame.Sequence, frame.SampleIndex, frame.ComputedAt.ToDateTimeOffset(), DateTimeOffset.UtcNow));
                        }
                    }
                }
            }
            catch (RpcException) when (!stop.IsCancellationRequested)
            {
                Interlocked.Increment(ref _counts[index][_phases.Current + 1].StreamFailures);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (RpcException)
            {
                return;
            }
            try
            {
                await Task.Delay(200, stop); // back-off before reconnecting
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private bool _disposed;

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        await _stop.CancelAsync();
        await Task.WhenAll(_readers);
        foreach (GrpcChannel c in _channels)
        {
            c.Dispose();
        }
        _stop.Dispose();
    }
}

/// <summary>Which phase of the run is current (subscribers, the browser and counters attribute what they see to it).</summary>
public sealed class PhaseClock
{
    // -1 until the first phase: what subscribers receive while the run sets up belongs to no phase.
    private volatile int _current = -1;

    /// <summary>The current phase's index, or -1 before the first.</summary>
    public int Current => _current;

    public void Enter(int phase) => _current = phase;
}
