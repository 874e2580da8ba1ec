using System.Threading.Channels;

namespace EmgBiofeedback.Pipeline;

/// <summary>
/// Hands each published item to every subscriber through the subscriber's own bounded queue (the model is
/// liblsl's consumer queue). The publisher never waits: when a subscriber's queue is full, its oldest item
/// is dropped and counted for that subscriber alone, so a stalled client costs nobody else anything and
/// memory stays bounded at subscribers x capacity items.
/// Subscribers by the hundred can instead be sinks (<see cref="Attach"/>): one delivery loop hands each item to every
/// sink in turn, without a queue and a wake-up per subscriber; a sink still busy with its previous item misses this
/// one, counted for it alone as well.
/// </summary>
public sealed class FanOut<T>
{
    // Items the delivery loop may fall behind the publisher by (the loop's own queue; what it drops, every sink misses).
    private const int SinkLoopQueue = 8;

    // From this many sinks a tick's deliveries are shared by two workers, which take them in runs of SweepRun.
    private const int SplitFrom = 200;
    private const int SweepRun = 16;

    private readonly Lock _gate = new();
    private Subscription<T>[] _subscribers = [];
    private SinkAttachment<T>[] _sinks = [];
    private Channel<T>? _toSinks;
    private long _sinkLoopDropped;
    private long _droppedByClosed;

    /// <summary>Subscriptions and sinks.</summary>
    public int SubscriberCount => Volatile.Read(ref _subscribers).Length + Volatile.Read(ref _sinks).Length;

    /// <summary>Items dropped for slow subscribers, present and past.</summary>
    public long Dropped
    {
        get
        {
            long sum = Interlocked.Read(ref _droppedByClosed);
            foreach (Subscription<T> s in Volatile.Read(ref _subscribers))
            {
                sum += s.TotalMissed;
            }
            foreach (SinkAttachment<T> s in Volatile.Read(ref _sinks))
            {
                sum += s.TotalMissed;
            }
            return sum;
        }
    }

    /// <param name="capacity">Items the subscriber may fall behind by before the oldest are dropped.</param>
    /// <param name="keepEvery">Deliver one item in this many (a lower rate); 1 delivers all.</param>
    public Subscription<T> Subscribe(int capacity, int keepEvery = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(keepEvery, 1);
        var subscription = new Subscription<T>(this, capacity, keepEvery);
        lock (_gate)
        {
            _subscribers = [.. _subscribers, subscription];
        }
        return subscription;
    }

    /// <summary>
    /// Attaches a sink: from now on the delivery loop (one task for all sinks, started with the first) hands it every
    /// <paramref name="keepEvery"/>-th item. Dispose the attachment to detach it; an item already being handed over may
    /// still reach the sink.
    /// </summary>
    public SinkAttachment<T> Attach(IFanOutSink<T> sink, int keepEvery = 1)
    {
        ArgumentNullException.ThrowIfNull(sink);
        ArgumentOutOfRangeException.ThrowIfLessThan(keepEvery, 1);
        var attachment = new SinkAttachment<T>(this, sink, keepEvery);
        lock (_gate)
        {
            if (_toSinks is null)
            {
                _toSinks = Channel.CreateBounded<T>(
                    new BoundedChannelOptions(SinkLoopQueue) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true, SingleWriter = true },
                    _ => Interlocked.Increment(ref _sinkLoopDropped));
                ChannelReader<T> reader = _toSinks.Reader;
                _ = Task.Run(() => DeliverToSinksAsync(reader));
            }
            _sinks = [.. _sinks, attachment];
        }
        return attachment;
    }

    /// <summary>Offers the item to every subscriber and queues it for the sinks' delivery loop; never blocks.</summary>
    public void Publish(T item)
    {
        foreach (Subscription<T> subscriber in Volatile.Read(ref _subscribers))
        {
            subscriber.Offer(item);
        }
        if (Volatile.Read(ref _sinks).Length > 0)
        {
            _toSinks!.Writer.TryWrite(item);
        }
    }

    private async Task DeliverToSinksAsync(ChannelReader<T> reader)
    {
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (reader.TryRead(out T? item))
            {
                long lag = Interlocked.Exchange(ref _sinkLoopDropped, 0);
                SinkAttachment<T>[] sinks = Volatile.Read(ref _sinks);
                if (sinks.Length < SplitFrom || Environment.ProcessorCount < 2)
                {
                    Offer(sinks, 0, sinks.Length, item, lag);
                    continue;
                }
                // Many sinks: a second worker shares them, so that one tick's writes take about half as long. Both take
                // the next run of sinks from one cursor, so a worker that starts late or is preempted (by Kestrel's
                // connection loops on the same cores) leaves its share to the other instead of holding the tick's tail.
                var sweep = new Sweep(sinks, item, lag);
                Task other = Task.Run(sweep.Run);
                sweep.Run();
                await other.ConfigureAwait(false);
            }
        }
    }

    /// <summary>One tick's deliveries shared by the workers that run it: each takes the next run of sinks until none is left.</summary>
    private sealed class Sweep(SinkAttachment<T>[] sinks, T item, long lag)
    {
        private int _next;

        public void Run()
        {
            int from;
            while ((from = Interlocked.Add(ref _next, SweepRun) - SweepRun) < sinks.Length)
            {
                Offer(sinks, from, Math.Min(from + SweepRun, sinks.Length), item, lag);
            }
        }
    }

    private static void Offer(SinkAttachment<T>[] sinks, int from, int to, T item, long lag)
    {
        for (int i = from; i < to; i++)
        {
            if (lag > 0)
            {
                sinks[i].Skip(lag);
            }
            sinks[i].Offer(item);
        }
    }

    internal void Detach(SinkAttachment<T> attachment)
    {
        lock (_gate)
        {
            int i = Array.IndexOf(_sinks, attachment);
            if (i < 0)
            {
                return;
            }
            _sinks = [.. _sinks.AsSpan(0, i), .. _sinks.AsSpan(i + 1)];
            Interlocked.Add(ref _droppedByClosed, attachment.TotalMissed);
        }
    }

    internal void Remove(Subscription<T> subscription)
    {
        lock (_gate)
        {
            int i = Array.IndexOf(_subscribers, subscription);
            if (i < 0)
            {
                return;
            }
            _subscribers = [.. _subscribers.AsSpan(0, i), .. _subscribers.AsSpan(i + 1)];
            Interlocked.Add(ref _droppedByClosed, subscription.TotalMissed);
        }
    }
}

/// <summary>One subscriber's view of a <see cref="FanOut{T}"/>: its queue and what it missed.</summary>
public sealed class Subscription<T> : IDisposable
{
    private readonly FanOut<T> _owner;
    private readonly Channel<T> _queue;
    private readonly int _keepEvery;
    private long _offered;
    private long _missedSinceTaken;
    private long _totalMissed;

    internal Subscription(FanOut<T> owner, int capacity, int keepEvery)
    {
        _owner = owner;
        _keepEvery = keepEvery;
        // Drop the oldest: for live feedback the newest activation is the one worth showing.
        _queue = Channel.CreateBounded<T>(
            new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true, SingleWriter = true },
            _ => { Interlocked.Increment(ref _missedSinceTaken); Interlocked.Increment(ref _totalMissed); });
    }

    public ChannelReader<T> Reader => _queue.Reader;

    public long TotalMissed => Interlocked.Read(ref _totalMissed);

    /// <summary>Items dropped for this subscriber since the last call: to report in the next message.</summary>
    public long TakeMissed() => Interlocked.Exchange(ref _missedSinceTaken, 0);

    internal void Offer(T item)
    {
        if (_offered++ % _keepEvery == 0)
        {
            _queue.Writer.TryWrite(item);
        }
    }

    public void Dispose()
    {
        _owner.Remove(this);
        _queue.Writer.TryComplete();
    }
}

/// <summary>
/// A subscriber the fan-out's delivery loop writes to directly (<see cref="FanOut{T}.Attach"/>), such as a network
/// stream whose writes usually complete at once.
/// </summary>
public interface IFanOutSink<in T>
{
    /// <summary>
    /// Hands the sink <paramref name="item"/>, with the number of items it missed since its previous one (to report
    /// them). Called from the delivery loop, one item at a time; must not block and should not throw. Returns false
    /// when the sink is still busy with an earlier item: this item is then missed, and counted for this sink.
    /// </summary>
    bool TryDeliver(T item, long missedBefore);
}

/// <summary>One sink attached to a <see cref="FanOut{T}"/>: its rate and what it missed. Dispose to detach it.</summary>
public sealed class SinkAttachment<T> : IDisposable
{
    private readonly FanOut<T> _owner;
    private readonly IFanOutSink<T> _sink;
    private readonly int _keepEvery;
    private long _offered; // the delivery loop's alone
    private long _missedSinceDelivered;
    private long _totalMissed;

    internal SinkAttachment(FanOut<T> owner, IFanOutSink<T> sink, int keepEvery)
    {
        _owner = owner;
        _sink = sink;
        _keepEvery = keepEvery;
    }

    public long TotalMissed => Interlocked.Read(ref _totalMissed);

    internal void Offer(T item)
    {
        if (_offered++ % _keepEvery != 0)
        {
            return;
        }
        long missed = Interlocked.Read(ref _missedSinceDelivered);
        bool delivered;
        try
        {
            delivered = _sink.TryDeliver(item, missed);
        }
        catch (Exception)
        {
            delivered = false; // a faulty sink loses its own items, counted; the others are not held up
        }
        if (delivered)
        {
            Interlocked.Add(ref _missedSinceDelivered, -missed);
        }
        else
        {
            Missed(1);
        }
    }

    /// <summary>The delivery loop fell behind and dropped <paramref name="count"/> items: those this sink would have had are missed.</summary>
    internal void Skip(long count)
    {
        // The items i in [offered, offered + count) with i % keepEvery == 0.
        long before = (_offered + _keepEvery - 1) / _keepEvery;
        _offered += count;
        Missed((_offered + _keepEvery - 1) / _keepEvery - before);
    }

    private void Missed(long n)
    {
        Interlocked.Add(ref _missedSinceDelivered, n);
        Interlocked.Add(ref _totalMissed, n);
    }

    public void Dispose() => _owner.Detach(this);
}
