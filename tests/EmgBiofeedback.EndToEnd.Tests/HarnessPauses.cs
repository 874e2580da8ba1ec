using System.Diagnostics;

namespace EmgBiofeedback.EndToEnd.Tests;

/// <summary>
/// The harness's own stalls (a garbage collection, CPU starvation): a thread that wakes every 5 ms and records each wake
/// more than 50 ms late, so a latency the harness measures can be told from one the service adds (the subscribers and the
/// serial relay live in this process).
/// </summary>
public sealed class HarnessPauses : IDisposable
{
    private const int PeriodMs = 5;
    private readonly List<(long At, double Ms)> _pauses = [];
    private readonly List<(long At, double Ms)> _poolDelays = [];
    private readonly Thread _thread;
    private volatile bool _stop;

    public HarnessPauses()
    {
        _thread = new Thread(Watch) { IsBackground = true, Name = "harness pause detector", Priority = ThreadPriority.AboveNormal };
        _thread.Start();
    }

    /// <summary>The longest stall of this process between two Stopwatch timestamps, ms (0 if none over 50 ms).</summary>
    public double MaxBetween(long from, long to)
    {
        lock (_pauses)
        {
            return _pauses.Where(p => p.At >= from && p.At <= to).Select(p => p.Ms).DefaultIfEmpty(0).Max();
        }
    }

    /// <summary>How many stalls over 50 ms this process had between two Stopwatch timestamps.</summary>
    public int CountBetween(long from, long to)
    {
        lock (_pauses)
        {
            return _pauses.Count(p => p.At >= from && p.At <= to);
        }
    }

    /// <summary>The longest a work item queued to the thread pool waited to run between two Stopwatch timestamps, ms
    /// (0 if none over 50 ms): the subscribers' continuations run there.</summary>
    public double MaxPoolDelayBetween(long from, long to)
    {
        lock (_poolDelays)
        {
            return _poolDelays.Where(p => p.At >= from && p.At <= to).Select(p => p.Ms).DefaultIfEmpty(0).Max();
        }
    }

    public int PoolDelaysBetween(long from, long to)
    {
        lock (_poolDelays)
        {
            return _poolDelays.Count(p => p.At >= from && p.At <= to);
        }
    }

    private void Watch()
    {
        long last = Stopwatch.GetTimestamp();
        int pending = 0;
        while (!_stop)
        {
            Thread.Sleep(PeriodMs);
            if (Interlocked.CompareExchange(ref pending, 1, 0) == 0)
            {
                long queued = Stopwatch.GetTimestamp();
                ThreadPool.UnsafeQueueUserWorkItem(_ =>
                {
                    double waited = Stopwatch.GetElapsedTime(queued).TotalMilliseconds;
                    if (waited > 50)
                    {
                        lock (_poolDelays)
                        {
                            _poolDelays.Add((Stopwatch.GetTimestamp(), waited));
                        }
                    }
                    Volatile.Write(ref pending, 0);
                }, null);
            }
            long now = Stopwatch.GetTimestamp();
            double late = Stopwatch.GetElapsedTime(last, now).TotalMilliseconds - PeriodMs;
            if (late > 50)
            {
                lock (_pauses)
                {
                    _pauses.Add((now, late));
                }
            }
            last = now;
        }
    }

    public void Dispose()
    {
        _stop = true;
        _thread.Join();
    }
}
