using EmgBiofeedback.Acquisition;
using EmgBiofeedback.Dsp;
using EmgBiofeedback.Pipeline;
using EmgBiofeedback.Protocol;

namespace EmgBiofeedback.Pipeline.Tests;

public class LivePipelineTests
{
    private static readonly string[] Labels = ["SCM L", "SCM R", "UT L", "UT R", "SPL L", "SPL R", "LS L", "LS R"];

    [Fact]
    public void Activation_frames_come_at_the_output_rate_in_sequence_with_labels_and_the_overactive_muscle_stands_out()
    {
        var pipeline = new LivePipeline(new SignalChainOptions(), Labels, TimeProvider.System);
        using Subscription<ActivationFrame> frames = pipeline.Activation.Subscribe(capacity: 1000);

        Feed(pipeline, seconds: 12);

        List<ActivationFrame> received = Drain(frames);
        Assert.Equal(12 * 50, received.Count);
        Assert.Equal(Enumerable.Range(1, received.Count).Select(i => (ulong)i), received.Select(f => f.Sequence));
        Assert.Equal(19, received[0].SampleIndex); // the output at the end of the first 20 ms
        Assert.Equal(20, received[1].SampleIndex - received[0].SampleIndex);
        Assert.Equal(Labels, received[0].Muscles.Select(m => m.Label));
        ActivationFrame[] settled = received.Skip(100).ToArray(); // the 50 Hz notch (Q 30) takes about 1.5 s to settle
        Assert.All(settled, f => Assert.All(f.Muscles, m => Assert.True(m.Valid)));
        double scmLeft = settled.Average(f => f.Muscles[0].RmsMicrovolts);
        double scmRight = settled.Average(f => f.Muscles[1].RmsMicrovolts);
        Assert.True(scmLeft > 4 * scmRight, $"SCM L {scmLeft:F1} µV vs SCM R {scmRight:F1} µV");
    }

    [Fact]
    public void After_a_gap_the_envelope_is_marked_invalid_and_the_timeline_skips_the_lost_instants()
    {
        var pipeline = new LivePipeline(new SignalChainOptions(), Labels, TimeProvider.System);
        using Subscription<ActivationFrame> frames = pipeline.Activation.Subscribe(capacity: 1000);
        var board = new SimulatedBoard(new SimulatorOptions(), sensorGain: 200);
        pipeline.OnBoard(board.Describe());
        var counts = new ushort[8];
        for (long i = 0; i < 2000; i++)
        {
            board.TrySampleNext(counts, out _);
            pipeline.OnSamples(i, counts);
        }
        Drain(frames);

        pipeline.OnGap(new SampleGap(2500, 500, GapCause.SequenceGap));
        for (long i = 2500; i < 5000; i++)
        {
            board.TrySampleNext(counts, out _);
            pipeline.OnSamples(i, counts);
        }

        List<ActivationFrame> after = Drain(frames);
        Assert.Equal(2519, after[0].SampleIndex);
        Assert.False(after[0].Muscles[0].Valid);
        Assert.True(after[^1].Muscles[0].Valid);
    }

    [Fact]
    public void Each_activation_frame_carries_the_arrival_of_its_last_sample()
    {
        var pipeline = new LivePipeline(new SignalChainOptions(), Labels, TimeProvider.System);
        using Subscription<ActivationFrame> frames = pipeline.Activation.Subscribe(capacity: 1000);
        var board = new SimulatedBoard(new SimulatorOptions(), sensorGain: 200);
        pipeline.OnBoard(board.Describe());
        var counts = new ushort[8];
        for (long i = 0; i < 1000; i++)
        {
            board.TrySampleNext(counts, out _);
            pipeline.OnSamples(i, counts, arrivalTimestamp: 1_000_000 + (i * 7));
        }

        List<ActivationFrame> received = Drain(frames);
        Assert.Equal(50, received.Count);
        Assert.All(received, f => Assert.Equal(1_000_000 + (f.SampleIndex * 7), f.ArrivalTimestamp));
    }

    [Fact]
    public void Waveform_blocks_carry_20_ms_of_every_channel_raw_and_filtered()
    {
        var pipeline = new LivePipeline(new SignalChainOptions(), Labels, TimeProvider.System);
        using Subscription<WaveformBlock> blocks = pipeline.Waveforms.Subscribe(capacity: 1000);

        Feed(pipeline, seconds: 1);

        List<WaveformBlock> received = Drain(blocks);
        Assert.Equal(50, received.Count);
        Assert.All(received, b => Assert.Equal((20, 8, 160, 160), (b.Frames, b.Channels, b.Raw.Length, b.Filtered.Length)));
        Assert.Equal(Enumerable.Range(0, 50).Select(i => i * 20L), received.Select(b => b.FirstSampleIndex));
    }

    [Fact]
    public void Acquisition_events_are_republished_with_their_gap_figures()
    {
        var pipeline = new LivePipeline(new SignalChainOptions(), Labels, TimeProvider.System);
        using Subscription<LiveEvent> events = pipeline.Events.Subscribe(capacity: 10);

        pipeline.OnEvent(new AcquisitionEvent(StationEventKind.Gap, DateTimeOffset.UnixEpoch, "lost")
        {
            Gap = new SampleGap(1200, 200, GapCause.BoardRestarted),
        });

        LiveEvent e = Assert.Single(Drain(events));
        Assert.Equal((StationEventKind.Gap, 200L, true, 1200L, 1UL), (e.Kind, e.LostSamples, e.Estimated, e.SampleIndex, e.Sequence));
    }

    private static void Feed(LivePipeline pipeline, int seconds)
    {
        var board = new SimulatedBoard(new SimulatorOptions(), sensorGain: 200);
        BoardInfo info = board.Describe();
        pipeline.OnBoard(info);
        var counts = new ushort[info.ChannelCount];
        for (long i = 0; i < seconds * info.SampleRateHz; i++)
        {
            board.TrySampleNext(counts, out _);
            pipeline.OnSamples(i, counts);
        }
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
