using EmgBiofeedback.Acquisition;
using EmgBiofeedback.Dsp;
using EmgBiofeedback.Pipeline;

namespace EmgBiofeedback.Pipeline.Tests;

/// <summary>
/// Clinical actions take effect at one exact sample, on the acquisition thread. The acquisition loop is async: the thread
/// that delivered the last sample goes back to the pool and soon runs a gRPC handler. The end-to-end run (issue 18) caught
/// such a handler taking itself for the acquisition thread: its marker ran at once, between samples, at sample index -1
/// (reported as 0), racing the real acquisition thread, and a session started that way lost its history timeline.
/// </summary>
public class RunAtNextSampleTests
{
    [Fact]
    public async Task An_action_asked_for_by_the_thread_that_delivered_the_last_sample_waits_for_the_next_sample()
    {
        var pipeline = new LivePipeline(new SignalChainOptions(), ["SCM L"], TimeProvider.System);
        var board = new SimulatedBoard(new SimulatorOptions { Channels = 1 }, sensorGain: 200);
        var counts = new ushort[1];
        long next = 0;
        void Deliver(int samples)
        {
            for (int i = 0; i < samples; i++)
            {
                board.TrySampleNext(counts, out _);
                pipeline.OnSamples(next++, counts);
            }
        }

        // One thread delivers samples, then (its sample delivered) asks for an action, as a pool thread would.
        using var asked = new ManualResetEventSlim();
        long ranAt = long.MinValue;
        int ranOn = -1;
        var caller = new Thread(() =>
        {
            pipeline.OnBoard(board.Describe());
            Deliver(100);
            asked.Set();
            (ranAt, ranOn) = pipeline.RunAtNextSample(p => (p.SampleIndex, Environment.CurrentManagedThreadId), TimeSpan.FromSeconds(10));
        });
        caller.Start();
        asked.Wait();
        await Task.Delay(200); // the caller is waiting (not run at once)
        int acquisition = -1;
        var delivering = new Thread(() =>
        {
            acquisition = Environment.CurrentManagedThreadId;
            Deliver(10);
        });
        delivering.Start();
        delivering.Join();
        caller.Join();

        Assert.Equal(100, ranAt); // the next sample, not -1 between samples
        Assert.Equal(acquisition, ranOn); // on the thread that delivered it
    }

    [Fact]
    public async Task An_action_asked_for_from_inside_a_delivery_runs_at_once_at_that_sample()
    {
        var pipeline = new LivePipeline(new SignalChainOptions(), ["SCM L"], TimeProvider.System);
        var board = new SimulatedBoard(new SimulatorOptions { Channels = 1 }, sensorGain: 200);
        pipeline.OnBoard(board.Describe());
        var counts = new ushort[1];
        long nested = long.MinValue;
        long outer = long.MinValue;
        Task asking = Task.CompletedTask;
        for (long i = 0; i < 200; i++)
        {
            board.TrySampleNext(counts, out _);
            if (i == 150)
            {
                // Queued from outside; when it runs (on the acquisition thread) it asks for another action: no deadlock.
                var t = asking = Task.Run(() => outer = pipeline.RunAtNextSample(p =>
                {
                    nested = pipeline.RunAtNextSample(q => q.SampleIndex, TimeSpan.FromSeconds(10));
                    return p.SampleIndex;
                }, TimeSpan.FromSeconds(10)));
                SpinWait.SpinUntil(() => t.IsCompleted || PendingActions(pipeline), TimeSpan.FromSeconds(5));
            }
            pipeline.OnSamples(i, counts);
        }
        // The asking thread stores its answer when it is scheduled again: wait for it (a loaded machine may be slow to).
        await asking.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(150, outer);
        Assert.Equal(-1, nested); // at once, on the acquisition thread, before the sample is processed
    }

    private static bool PendingActions(LivePipeline pipeline) =>
        (int)typeof(LivePipeline).GetField("_pendingActions", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(pipeline)! > 0;
}

/// <summary>The same rule when the asker is another sink of the acquisition loop (it runs after the pipeline, on the
/// loop's thread): it must not wait for a next sample that only its own thread can deliver.</summary>
public class RunAtNextSampleFromASinkTests
{
    [Fact]
    public async Task A_sink_of_the_loop_that_asks_for_an_action_does_not_stall_the_loop()
    {
        var pipeline = new LivePipeline(new SignalChainOptions(), ["SCM L"], TimeProvider.System);
        var asker = new AskingSink(pipeline, atSample: 500);
        var link = new SimulatedBoardLink(new SimulatorOptions { Channels = 1 }, 200, TimeProvider.System);
        var loop = new AcquisitionLoop(link, [pipeline, asker], new AcquisitionOptions(), TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<AcquisitionLoop>.Instance);
        using var stop = new CancellationTokenSource();
        Task run = loop.RunAsync(stop.Token);
        // The simulated board runs in real time: 1500 samples take 1.5 s; a stalled loop would wait the action's 60 s.
        await Eventually.TrueAsync(() => asker.Samples >= 1500, TimeSpan.FromSeconds(20), "the loop going on past the sink's action");
        await stop.CancelAsync();
        await run;
        Assert.Equal(-1, asker.RanAt); // at once, on the loop's thread (no sample of its own to wait for)
    }

    private sealed class AskingSink(LivePipeline pipeline, long atSample) : IAcquisitionSink
    {
        public long RanAt { get; private set; } = long.MinValue;
        public int Samples;

        public void OnBoard(EmgBiofeedback.Protocol.BoardInfo board)
        {
        }

        public void OnSamples(long sampleIndex, ReadOnlySpan<ushort> counts)
        {
            if (Interlocked.Increment(ref Samples) == atSample)
            {
                RanAt = pipeline.RunAtNextSample(p => p.SampleIndex, TimeSpan.FromSeconds(60));
            }
        }

        public void OnSamples(long sampleIndex, ReadOnlySpan<int> counts)
        {
        }

        public void OnGap(SampleGap gap)
        {
        }

        public void OnEvent(AcquisitionEvent e)
        {
        }
    }
}
