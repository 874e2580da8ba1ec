using EmgBiofeedback.Pipeline;

namespace EmgBiofeedback.Pipeline.Tests;

public class FanOutTests
{
    [Fact]
    public void Every_subscriber_gets_every_item_in_order()
    {
        var fanOut = new FanOut<int>();
        using Subscription<int> a = fanOut.Subscribe(capacity: 100);
        using Subscription<int> b = fanOut.Subscribe(capacity: 100);

        for (int i = 0; i < 50; i++)
        {
            fanOut.Publish(i);
        }

        Assert.Equal(Enumerable.Range(0, 50), Drain(a));
        Assert.Equal(Enumerable.Range(0, 50), Drain(b));
        Assert.Equal(0, fanOut.Dropped);
    }

    [Fact]
    public void A_stalled_subscriber_loses_its_oldest_items_counted_and_nobody_else_loses_anything()
    {
        var fanOut = new FanOut<int>();
        using Subscription<int> stalled = fanOut.Subscribe(capacity: 8);
        using Subscription<int> reader = fanOut.Subscribe(capacity: 8);
        var read = new List<int>();

        for (int i = 0; i < 1000; i++)
        {
            fanOut.Publish(i);
            read.AddRange(Drain(reader));
        }

        Assert.Equal(Enumerable.Range(0, 1000), read);
        Assert.Equal(Enumerable.Range(992, 8), Drain(stalled)); // the newest are kept
        Assert.Equal(992, stalled.TakeMissed());
        Assert.Equal(0, stalled.TakeMissed()); // reported once
        Assert.Equal(0, reader.TotalMissed);
        Assert.Equal(992, fanOut.Dropped);
    }

    [Fact]
    public void A_lower_rate_keeps_one_item_in_n_without_counting_the_rest_as_missed()
    {
        var fanOut = new FanOut<int>();
        using Subscription<int> tenth = fanOut.Subscribe(capacity: 100, keepEvery: 10);

        for (int i = 0; i < 100; i++)
        {
            fanOut.Publish(i);
        }

        Assert.Equal(Enumerable.Range(0, 10).Select(i => i * 10), Drain(tenth));
        Assert.Equal(0, tenth.TotalMissed);
    }

    [Fact]
    public void A_closed_subscription_stops_receiving_and_its_drops_stay_counted()
    {
        var fanOut = new FanOut<int>();
        Subscription<int> gone = fanOut.Subscribe(capacity: 1);
        fanOut.Publish(1);
        fanOut.Publish(2);
        gone.Dispose();

        fanOut.Publish(3);

        Assert.Equal(0, fanOut.SubscriberCount);
        Assert.Equal(1, fanOut.Dropped);
        Assert.Equal([2], Drain(gone));
        Assert.True(gone.Reader.Completion.IsCompleted);
    }

    [Fact]
    public void Publishing_to_many_subscribers_allocates_nothing()
    {
        var fanOut = new FanOut<object>();
        var subscriptions = Enumerable.Range(0, 100).Select(_ => fanOut.Subscribe(capacity: 4)).ToArray();
        var item = new object();
        for (int i = 0; i < 100; i++)
        {
            fanOut.Publish(item); // warm up, and fill every queue so later publishes also drop
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            fanOut.Publish(item);
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        Assert.All(subscriptions, s => Assert.Equal(1096, s.TotalMissed));
    }

    private static List<T> Drain<T>(Subscription<T> subscription)
    {
        var items = new List<T>();
        while (subscription.Reader.TryRead(out T? item))
        {
            items.Add(item);
        }
        return items;
    }
}
