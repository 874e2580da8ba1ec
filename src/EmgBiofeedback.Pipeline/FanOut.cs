using System.Threading.Channels;

namespace EmgBiofeedback.Pipeline;

/// <summary>
/// Hands each published item to every subscriber through the subscriber's own bounded queue (the model is
/// liblsl's consumer queue). The publisher never waits: when a subscriber's queue is full, its oldest item
/// is dropped and counted for that subscriber alone, so a stalled client costs nobody else anything and
/// memory stays bounded at subscribers x capacity items.
/// </summary>
public sealed class FanOut<T>
{
    private readonly Lock _gate = new();
    private Subscription<T>[] _subscribers = [];
    private long _droppedByClosed;

    public int SubscriberCount => Volatile.Read(ref _subscribers).Length;

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

    /// <summary>Offers the item to every subscriber; never blocks.</summary>
    public void Publish(T item)
    {
        foreach (Subscription<T> subscriber in Volatile.Read(ref _subscribers))
        {
            subscriber.Offer(item);
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
