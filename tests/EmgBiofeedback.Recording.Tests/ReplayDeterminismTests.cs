using EmgBiofeedback.Acquisition;
using EmgBiofeedback.Dsp;
using EmgBiofeedback.Pipeline;
using Microsoft.Extensions.Logging.Abstractions;

namespace EmgBiofeedback.Recording.Tests;

public sealed class ReplayDeterminismTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("emg-replay-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task Replaying_a_live_recording_at_max_speed_gives_the_live_activation_frames_frame_for_frame()
    {
        var sim = new SimulatorOptions();
        string[] labels = sim.EffectiveMuscles(sim.Channels).Select(m => m.Label).ToArray();

        // Live: 20 s of the simulated board in real time, recorded and processed side by side.
        var recorder = new Recorder(new RecorderOptions(), new RecordingsFolder(_folder), TimeProvider.System);
        recorder.Start(new RecordingRequest("test", "live", "X", labels));
        var live = new LivePipeline(new SignalChainOptions(), labels, TimeProvider.System);
        using Subscription<ActivationFrame> liveFrames = live.Activation.Subscribe(1 << 16);
        var liveLoop = new AcquisitionLoop(new SimulatedBoardLink(sim, 200, TimeProvider.System), [recorder, live], new AcquisitionOptions(), TimeProvider.System, NullLogger<AcquisitionLoop>.Instance);
        using (var stop = new CancellationTokenSource())
        {
            Task run = liveLoop.RunAsync(stop.Token);
            await Eventually.TrueAsync(() => recorder.RecordsFlushed >= 20, TimeSpan.FromSeconds(60), "20 s of live recording");
            await stop.CancelAsync();
            await run;
        }
        string path = recorder.Stop()!;
        List<ActivationFrame> expected = Drain(liveFrames);

        // Replay: the file through a new loop and pipeline, as fast as possible.
        var link = new ReplayBoardLink(path, 0, TimeProvider.System);
        var replay = new LivePipeline(new SignalChainOptions(), labels, TimeProvider.System);
        using Subscription<ActivationFrame> replayFrames = replay.Activation.Subscribe(1 << 16);
        var replayLoop = new AcquisitionLoop(link, [replay], new AcquisitionOptions(), TimeProvider.System, NullLogger<AcquisitionLoop>.Instance);
        using (var stop = new CancellationTokenSource())
        {
            Task run = replayLoop.RunAsync(stop.Token);
            await link.Completion.WaitAsync(TimeSpan.FromSeconds(60));
            await stop.CancelAsync();
            await run;
        }
        List<ActivationFrame> actual = Drain(replayFrames);

        Assert.True(expected.Count >= 1000, $"{expected.Count} live frames");
        Assert.Equal(0, live.Activation.Dropped);
        Assert.Equal(0, replay.Activation.Dropped);
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].SampleIndex, actual[i].SampleIndex);
            for (int c = 0; c < expected[i].Muscles.Length; c++)
            {
                MuscleActivation e = expected[i].Muscles[c], a = actual[i].Muscles[c];
                Assert.Equal(BitConverter.SingleToInt32Bits(e.RmsMicrovolts), BitConverter.SingleToInt32Bits(a.RmsMicrovolts));
                Assert.Equal((e.Quality, e.Valid, e.Label), (a.Quality, a.Valid, a.Label));
            }
        }
    }

    private static List<ActivationFrame> Drain(Subscription<ActivationFrame> s)
    {
        var list = new List<ActivationFrame>();
        while (s.Reader.TryRead(out ActivationFrame? f))
        {
            list.Add(f);
        }
        return list;
    }
}
