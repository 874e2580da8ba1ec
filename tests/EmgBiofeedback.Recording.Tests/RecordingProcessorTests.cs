using EmgBiofeedback.Acquisition;
using EmgBiofeedback.Dsp;
using EmgBiofeedback.Pipeline;
using Microsoft.Extensions.Logging.Abstractions;

namespace EmgBiofeedback.Recording.Tests;

public class RecordingProcessorTests
{
    [Fact]
    public async Task Block_processing_of_a_recording_equals_the_live_path_replay_bit_for_bit_across_a_gap()
    {
        string folder = Directory.CreateTempSubdirectory("emg-process-").FullName;
        SimulatedRecording recording = SimulatedRecording.Make(folder, seconds: 12, gapAt: 4321, gapLength: 250);

        // The live path: replay link -> decoder -> acquisition loop -> live pipeline, one frame at a time.
        var link = new ReplayBoardLink(recording.Path, 0, TimeProvider.System);
        var pipeline = new LivePipeline(new SignalChainOptions(), [], TimeProvider.System);
        using Subscription<ActivationFrame> frames = pipeline.Activation.Subscribe(1 << 16);
        var loop = new AcquisitionLoop(link, [pipeline], new AcquisitionOptions(), TimeProvider.System, NullLogger<AcquisitionLoop>.Instance);
        using var stop = new CancellationTokenSource();
        Task run = loop.RunAsync(stop.Token);
        await link.Completion.WaitAsync(TimeSpan.FromSeconds(60));
        await stop.CancelAsync();
        await run;
        var live = new List<ActivationFrame>();
        while (frames.Reader.TryRead(out ActivationFrame? f))
        {
            live.Add(f);
        }

        // The block path: whole records through the chain.
        var blocks = new List<EnvelopeSample>();
        using var file = new RecordingFile(recording.Path);
        RecordingProcessor.Run(file, new SignalChainOptions(), outputs => blocks.AddRange(outputs.ToArray()));

        int channels = recording.Board.ChannelCount;
        Assert.Equal(live.Count * channels, blocks.Count);
        Assert.Contains(live, f => !f.Muscles[0].Valid && f.SampleIndex > 4321); // the gap reached both paths
        for (int i = 0; i < live.Count; i++)
        {
            for (int c = 0; c < channels; c++)
            {
                EnvelopeSample b = blocks[i * channels + c];
                MuscleActivation m = live[i].Muscles[c];
                Assert.Equal(live[i].SampleIndex, b.SampleIndex);
                Assert.Equal(BitConverter.SingleToInt32Bits(m.RmsMicrovolts), BitConverter.SingleToInt32Bits((float)b.RmsMicrovolts));
                Assert.Equal((m.Quality, m.Valid), (b.Quality, b.IsValid));
            }
        }
    }
}
