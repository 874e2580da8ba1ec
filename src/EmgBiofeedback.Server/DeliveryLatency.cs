namespace EmgBiofeedback.Server;

/// <summary>
/// The most recent delivery latencies (envelope computed -> frame handed to the network), kept in a
/// fixed ring so recording one costs an increment and a store, and summarised on demand.
/// </summary>
public sealed class DeliveryLatency
{
    private const int Capacity = 1 << 14;
    private readonly double[] _milliseconds = new double[Capacity];
    private long _count;

    public void Record(TimeSpan latency)
    {
        long n = Interlocked.Increment(ref _count);
        _milliseconds[(n - 1) & (Capacity - 1)] = latency.TotalMilliseconds;
    }

    public (double P50, double P99, double Max, long Count) Summarise()
    {
        long count = Interlocked.Read(ref _count);
        int n = (int)Math.Min(count, Capacity);
        if (n == 0)
        {
            return (0, 0, 0, 0);
        }
        double[] recent = _milliseconds.AsSpan(0, n).ToArray();
        Array.Sort(recent);
        return (recent[(int)(0.5 * (n - 1))], recent[(int)(0.99 * (n - 1))], recent[^1], n);
    }
}
