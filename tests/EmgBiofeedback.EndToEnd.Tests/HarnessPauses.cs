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

    /// <summary>This process's stalls over 50 ms between two Stopwatch timestamps: how many, and the longest (ms, 0 if none).</summary>
    public (int Count, double MaxMs) PausesBetween(long from, long to) => Between(_pauses, from, to);

    /// <summary>Work items queued to the thread pool that waited over 50 ms to run between two Stopwatch timestamps: how
    /// many, and the longest wait (ms, 0 if none). The subscribers' continuations run there.</summary>
    public (int Count, double MaxMs) PoolDelaysBetween(long from, long to) => Between(_poolDelays, from, to);

    private static (int Count, double MaxMs) Between(List<(long At, double Ms)> events, long from, long to)
    {
        lock (events)
        {
            double[] inside = events.Where(e => e.At >= from && e.At <= to).Select(e => e.Ms).ToArray();
            return (inside.Length, inside.DefaultIfEmpty(0).Max());
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
