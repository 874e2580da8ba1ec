using EmgBiofeedback.Pipeline;
using EmgBiofeedback.TestSupport;

namespace EmgBiofeedback.Pipeline.Tests;

/// <summary>Sinks: subscribers written by the fan-out's one delivery loop instead of reading a queue of their own.</summary>
public class FanOutSinkTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    /// <summary>A sink that keeps what it was handed; busy (refusing) while <see cref="Busy"/> is set.</summary>
    private sealed class RecordingSink : IFanOutSink<int>
    {
        private readonly List<(int Item, long Missed)> _items = [];

        public volatile bool Busy;

        public volatile bool Throws;

        public int Offers;

        public bool TryDeliver(int item, long missedBefore)
        {
            Interlocked.Increment(ref Offers);
            if (Throws)
            {
                throw new InvalidOperationException("a faulty sink");
            }
            if (Busy)
            {
                return false;
            }
            lock (_items)
            {
                _items.Add((item, missedBefore));
            }
            return true;
        }

        public (int Item, long Missed)[] Items
        {
            get { lock (_items) { return [.. _items]; } }
        }
    }

    [Fact]
    public async Task Every_sink_gets_every_item_in_order_beside_the_queued_subscribers()
    {
        var fanOut = new FanOut<int>();
        var a = new RecordingSink();
        var b = new RecordingSink();
        using SinkAttachment<int> attachedA = fanOut.Attach(a);
        using SinkAttachment<int> attachedB = fanOut.Attach(b);
        using Subscription<int> queued = fanOut.Subscribe(capacity: 100);

        Assert.Equal(3, fanOut.SubscriberCount);
        for (int i = 0; i < 50; i++)
        {
            fanOut.Publish(i);
            await Eventually.TrueAsync(() => a.Items.Length == i + 1 && b.Items.Length == i + 1, Timeout, $"item {i} at both sinks");
        }

        Assert.Equal(Enumerable.Range(0, 50), a.Items.Select(x => x.Item));
        Assert.Equal(Enumerable.Range(0, 50), b.Items.Select(x => x.Item));
        Assert.All(a.Items, x => Assert.Equal(0, x.Missed));
        Assert.Equal(0, fanOut.Dropped);
    }

    [Fact]
    public async Task Hundreds_of_sinks_shared_by_two_workers_each_get_every_item_in_order()
    {
        var fanOut = new FanOut<int>();
        RecordingSink[] sinks = Enumerable.Range(0, 301).Select(_ => new RecordingSink()).ToArray();
        var attachments = sinks.Select(s => fanOut.Attach(s)).ToList();
        sinks[250].Busy = true; // one busy sink in the second half

        for (int i = 0; i < 30; i++)
        {
            fanOut.Publish(i);
            await Eventually.TrueAsync(() => sinks[300].Items.Length == i + 1 && sinks[0].Items.Length == i + 1, Timeout, $"item {i} at both ends");
            if (i == 9)
            {
                // A sink leaving shifts the others between the workers' runs: none may lose or repeat an item.
                attachments[10].Dispose();
            }
        }
        await Eventually.TrueAsync(() => sinks.Where((_, i) => i is not (10 or 250)).All(s => s.Items.Length == 30), Timeout, "every item at every sink");

        foreach ((RecordingSink sink, int index) in sinks.Select((s, i) => (s, i)))
        {
            int[] items = sink.Items.Select(x => x.Item).ToArray();
            if (index == 250)
            {
                Assert.Empty(items);
                Assert.Equal(30, attachments[250].TotalMissed);
            }
            else if (index == 10)
            {
                Assert.Equal(Enumerable.Range(0, items.Length), items); // in order up to where it left
            }
            else
            {
                Assert.Equal(Enumerable.Range(0, 30), items);
            }
        }
        attachments.ForEach(a => a.Dispose());
    }

    [Fact]
    public async Task A_worker_held_up_in_one_sink_leaves_the_rest_of_the_tick_to_the_other()
    {
        Assert.True(Environment.ProcessorCount >= 2, "the fan-out shares a tick between two workers only with two cores or more");
        var fanOut = new FanOut<int>();
        using var release = new ManualResetEventSlim(false);
        var slow = new BlockingSink(release); // a worker preempted in the middle of a tick, as Kestrel's loops do
        RecordingSink[] others = Enumerable.Range(0, 299).Select(_ => new RecordingSink()).ToArray();
        var attachments = new List<SinkAttachment<int>> { fanOut.Attach(slow) };
        attachments.AddRange(others.Select(o => fanOut.Attach(o)));

        fanOut.Publish(0);
        await Eventually.TrueAsync(() => slow.Entered, Timeout, "a worker in the slow sink");
        // Only the slow sink's own run of 16 waits for it; with the tick cut in two fixed halves, half of it would.
        await Eventually.TrueAsync(() => others.Skip(15).All(o => o.Items.Length == 1), Timeout, "the item at every sink beyond the slow one's run");
        Assert.All(others.Take(15), o => Assert.Empty(o.Items));
        release.Set();
        await Eventually.TrueAsync(() => others.All(o => o.Items.Length == 1) && slow.Items.Count == 1, Timeout, "the item at every sink");
        attachments.ForEach(a => a.Dispose());
    }

    [Fact]
    public async Task A_busy_sink_misses_items_counted_for_it_alone_and_told_with_its_next_item()
    {
        var fanOut = new FanOut<int>();
        var busy = new RecordingSink();
        var healthy = new RecordingSink();
        using SinkAttachment<int> attachedBusy = fanOut.Attach(busy);
        using SinkAttachment<int> attachedHealthy = fanOut.Attach(healthy);

        await PublishAsync(fanOut, 0, healthy);
        busy.Busy = true;
        for (int i = 1; i <= 5; i++)
        {
            await PublishAsync(fanOut, i, healthy);
        }
        busy.Busy = false;
        await PublishAsync(fanOut, 6, healthy);
        await Eventually.TrueAsync(() => busy.Items.Length == 2, Timeout, "the busy sink's next item");

        Assert.Equal([(0, 0L), (6, 5L)], busy.Items);
        Assert.Equal(5, attachedBusy.TotalMissed);
        Assert.Equal(0, attachedHealthy.TotalMissed);
        Assert.Equal(Enumerable.Range(0, 7), healthy.Items.Select(x => x.Item));
        Assert.Equal(5, fanOut.Dropped);
    }

    [Fact]
    public async Task A_lower_rate_hands_one_item_in_n_and_a_faulty_sink_holds_nobody_up()
    {
        var fanOut = new FanOut<int>();
        var tenth = new RecordingSink();
        var faulty = new RecordingSink { Throws = true };
        var healthy = new RecordingSink();
        using SinkAttachment<int> attachedTenth = fanOut.Attach(tenth, keepEvery: 10);
        using SinkAttachment<int> attachedFaulty = fanOut.Attach(faulty);
        using SinkAttachment<int> attachedHealthy = fanOut.Attach(healthy);

        for (int i = 0; i < 100; i++)
        {
            await PublishAsync(fanOut, i, healthy);
        }

        Assert.Equal(Enumerable.Range(0, 10).Select(i => i * 10), tenth.Items.Select(x => x.Item));
        Assert.Equal(0, attachedTenth.TotalMissed);
        Assert.Equal(100, attachedFaulty.TotalMissed); // its own items, counted
        Assert.Equal(100, healthy.Items.Length);
    }

    [Fact]
    public async Task A_detached_sink_gets_nothing_more_and_its_misses_stay_counted()
    {
        var fanOut = new FanOut<int>();
        var gone = new RecordingSink { Busy = true };
        var healthy = new RecordingSink();
        SinkAttachment<int> attached = fanOut.Attach(gone);
        using SinkAttachment<int> attachedHealthy = fanOut.Attach(healthy);
        await PublishAsync(fanOut, 1, healthy);
        await PublishAsync(fanOut, 2, healthy);
        attached.Dispose();
        int offers = gone.Offers;

        await PublishAsync(fanOut, 3, healthy);

        Assert.Equal(offers, gone.Offers);
        Assert.Equal(1, fanOut.SubscriberCount);
        Assert.Equal(2, fanOut.Dropped);
    }

    [Fact]
    public async Task Items_the_delivery_loop_could_not_keep_up_with_are_missed_by_every_sink_and_counted()
    {
        var fanOut = new FanOut<int>();
        using var release = new ManualResetEventSlim(false);
        var blocking = new BlockingSink(release);
        var tenth = new RecordingSink();
        using SinkAttachment<int> attachedBlocking = fanOut.Attach(blocking);
        using SinkAttachment<int> attachedTenth = fanOut.Attach(tenth, keepEvery: 10);

        fanOut.Publish(0); // the loop is held inside the first sink
        await Eventually.TrueAsync(() => blocking.Entered, Timeout, "the loop in the blocking sink");
        for (int i = 1; i <= 100; i++)
        {
            fanOut.Publish(i); // the loop's queue keeps the newest 8
        }
        release.Set();
        await Eventually.TrueAsync(() => blocking.Items.Count == 9, Timeout, "the loop done");

        Assert.Equal([0, .. Enumerable.Range(93, 8)], blocking.Items);
        Assert.Equal(92, attachedBlocking.TotalMissed); // 1..92 dropped by the loop's queue
        // The tenth-rate sink: 0 handed, then of 1..92 the multiples of 10 missed (9 of them), then 100 handed.
        Assert.Equal([0, 100], tenth.Items.Select(x => x.Item));
        Assert.Equal(9, attachedTenth.TotalMissed);
        Assert.Equal(9, tenth.Items[1].Missed);
    }

    private sealed class BlockingSink(ManualResetEventSlim release) : IFanOutSink<int>
    {
        public readonly List<int> Items = [];

        public volatile bool Entered;

        public bool TryDeliver(int item, long missedBefore)
        {
            Entered = true;
            release.Wait();
            lock (Items)
            {
                Items.Add(item);
            }
            return true;
        }
    }

    private static async Task PublishAsync(FanOut<int> fanOut, int item, RecordingSink witness)
    {
        fanOut.Publish(item);
        await Eventually.TrueAsync(() => witness.Items.Any(x => x.Item == item), Timeout, $"item {item} delivered");
    }
}
