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
        var replay = new LivePipeline(new SignalChainOptions(), labels, TimeProvider.System);
        (List<ActivationFrame> actual, _) = await ReplayAsync(path, replay);

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

    [Theory]
    [InlineData("a_signed_edfplus.edf")]
    [InlineData("e_semg_millivolts_edfplus.edf")]
    [InlineData("g_discontinuous_edfplusd.edf")]
    [InlineData("d_half_second_records_edfplus.edf")]
    [InlineData("j_plain_bdf.bdf")]          // 24-bit counts: WIDE_SAMPLES frames, the scalar kernel
    [InlineData("e_semg_volts_bdfplus.bdf")] // 24-bit counts, in V
    public async Task A_foreign_file_replayed_through_the_live_path_equals_the_offline_process_bit_for_bit_at_its_own_scale(string name)
    {
        string path = Support.ForeignFiles.PathOf(name);
        using var file = new RecordingFile(path);
        Assert.Null(file.ReplayRefusal());

        // Offline: the file's own scales, straight through the chain.
        var offline = new List<EnvelopeSample>();
        RecordingProcessor.Run(file, new SignalChainOptions(), outputs => offline.AddRange(outputs.ToArray()));

        // Replay: protocol frames, decoder, acquisition loop, live pipeline; the scales travel with the connection.
        var replay = new LivePipeline(new SignalChainOptions { SensorGain = 1 }, file.Labels, TimeProvider.System); // the station's gain must not apply
        (List<ActivationFrame> replayed, AcquisitionLoop loop) = await ReplayAsync(path, replay);

        int channels = file.ChannelCount;
        Assert.Equal(offline.Count / channels, replayed.Count);
        Assert.True(replayed.Count > 10, $"{replayed.Count} frames");
        for (int i = 0; i < replayed.Count; i++)
        {
            for (int c = 0; c < channels; c++)
            {
                EnvelopeSample e = offline[(i * channels) + c];
                MuscleActivation a = replayed[i].Muscles[c];
                Assert.Equal(BitConverter.SingleToInt32Bits((float)e.RmsMicrovolts), BitConverter.SingleToInt32Bits(a.RmsMicrovolts));
                Assert.Equal((e.Quality, e.IsValid), (a.Quality, a.Valid));
            }
        }
        // An EDF+D file's gaps arrive as gaps (skipped sequence numbers), exactly as long as the file says.
        Assert.Equal(file.Instants - (file.RecordCount * file.SamplesPerRecord), (long)loop.Counters.LostFrames);
    }

    /// <summary>A recording through a replay link, the acquisition loop and <paramref name="pipeline"/>, as fast as it goes.</summary>
    private static async Task<(List<ActivationFrame> Frames, AcquisitionLoop Loop)> ReplayAsync(string path, LivePipeline pipeline)
    {
        var link = new ReplayBoardLink(path, 0, TimeProvider.System);
        using Subscription<ActivationFrame> frames = pipeline.Activation.Subscribe(1 << 18);
        var loop = new AcquisitionLoop(link, [pipeline], new AcquisitionOptions(), TimeProvider.System, NullLogger<AcquisitionLoop>.Instance);
        using (var stop = new CancellationTokenSource())
        {
            Task run = loop.RunAsync(stop.Token);
            await link.Completion.WaitAsync(TimeSpan.FromSeconds(60));
            await stop.CancelAsync();
            await run;
        }
        return (Drain(frames), loop);
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
