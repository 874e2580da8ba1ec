using System.Buffers;
using EmgBiofeedback.Protocol;
using Microsoft.Extensions.Logging.Abstractions;

namespace EmgBiofeedback.Acquisition.Tests;

public class SimulatedBoardTests
{
    private const double SensorGain = 200;

    [Fact]
    public void The_same_seed_gives_the_same_byte_stream()
    {
        Assert.Equal(Bytes(new SimulatorOptions(), 2000), Bytes(new SimulatorOptions(), 2000));
        Assert.NotEqual(Bytes(new SimulatorOptions(), 2000), Bytes(new SimulatorOptions { Seed = 1 }, 2000));
    }

    [Fact]
    public void The_default_patient_has_an_overactive_left_SCM_quiet_levators_and_stays_centred_in_the_ADC_range()
    {
        var board = new SimulatedBoard(new SimulatorOptions(), SensorGain);
        const int instants = 12_000; // two spasm periods of the left SCM
        var counts = new ushort[board.Channels];
        var sum = new double[board.Channels];
        var sumOfSquares = new double[board.Channels];
        for (int i = 0; i < instants; i++)
        {
            board.TrySampleNext(counts, out _);
            for (int c = 0; c < counts.Length; c++)
            {
                sum[c] += counts[c];
                sumOfSquares[c] += (double)counts[c] * counts[c];
            }
        }
        double[] rms = sum.Select((s, c) => Math.Sqrt(sumOfSquares[c] / instants - (s / instants) * (s / instants))).ToArray();
        double[] mean = sum.Select(s => s / instants).ToArray();

        Assert.Equal("SCM L", board.Muscles[0].Label);
        Assert.True(rms[0] > 4 * rms[1], $"SCM L {rms[0]:F2} vs SCM R {rms[1]:F2} counts RMS");
        Assert.True(rms[0] > 4 * rms[6], $"SCM L {rms[0]:F2} vs LS L {rms[6]:F2} counts RMS");
        Assert.All(mean, m => Assert.InRange(m, 500, 524)); // mid-scale of a 10-bit ADC
    }

    [Fact]
    public void Mains_hum_is_at_the_configured_frequency()
    {
        var options = new SimulatorOptions
        {
            Channels = 1,
            MainsHz = 60,
            MainsMicrovolts = 200,
            BaselineNoiseMicrovolts = 0,
            MotionArtefactIntervalSeconds = 0,
            Muscles = [new MusclePattern { Label = "quiet" }],
        };
        var board = new SimulatedBoard(options, SensorGain);
        var counts = new ushort[1];
        var x = new double[1000];
        for (int i = 0; i < x.Length; i++)
        {
            board.TrySampleNext(counts, out _);
            x[i] = counts[0] - 512;
        }

        Assert.True(PowerAt(x, 60) > 100 * PowerAt(x, 50));
    }

    [Fact]
    public void A_burst_without_edges_is_a_step_in_amplitude_at_its_known_sample()
    {
        // The latency test's board: 20 µV RMS, then 150 µV RMS from sample 250 (0.25 s into each 1 s period) for 0.5 s.
        var options = new SimulatorOptions
        {
            Channels = 1,
            MainsMicrovolts = 0,
            BaselineNoiseMicrovolts = 0,
            MotionArtefactIntervalSeconds = 0,
            Muscles = [new MusclePattern { Label = "step", TonicMicrovolts = 20, BurstMicrovolts = 130, BurstPeriodSeconds = 1, BurstSeconds = 0.5, BurstPhaseSeconds = 0.25, BurstEdgeSeconds = 0 }],
        };
        var board = new SimulatedBoard(options, 2000); // a high gain, so that 20 µV spans many ADC counts
        var counts = new ushort[1];
        var x = new double[2000];
        for (int i = 0; i < x.Length; i++)
        {
            board.TrySampleNext(counts, out _);
            x[i] = counts[0] - 512;
        }
        double Rms(int from, int to) => Math.Sqrt(x[from..to].Select(v => v * v).Average());

        // Full amplitude from the step's first sample (no ramp), back down at its end, and again a period later.
        foreach (int step in new[] { 250, 1250 })
        {
            double before = Rms(step - 100, step), during = Rms(step, step + 100), after = Rms(step + 500, step + 600);
            Assert.InRange(during / before, 5.0, 10.0);
            Assert.InRange(during / after, 5.0, 10.0);
            // With the default 0.15 s raised-cosine edge the first 30 samples would stand at about 1.6 times the level before.
            Assert.InRange(Rms(step, step + 30) / before, 3.0, 20.0);
        }
    }

    [Fact]
    public void Commands_change_rate_and_channels_stop_and_start_and_out_of_range_values_are_refused()
    {
        var board = new SimulatedBoard(new SimulatorOptions(), SensorGain);
        var replies = new BoardStreamDecoder();
        var buffer = new byte[64];

        var setRate = Answer(board, buffer[..FrameEncoder.WriteSetRate(buffer, 500)]);
        Assert.Equal(500, board.SampleRateHz);
        Assert.Equal([AckResult.Ok], setRate.Acks);
        Assert.Equal(500, setRate.Hello!.SampleRateHz);

        var setChannels = Answer(board, buffer[..FrameEncoder.WriteSetChannels(buffer, 4)]);
        Assert.Equal(4, setChannels.Hello!.ChannelCount);
        Assert.Equal(WireFormat.SamplesFrameSize(4), board.WriteNextFrame(new byte[64]));

        Assert.Equal([AckResult.ArgumentOutOfRange], Answer(board, buffer[..FrameEncoder.WriteSetRate(buffer, 50)]).Acks);
        Assert.Equal(500, board.SampleRateHz);

        Answer(board, buffer[..FrameEncoder.WriteCommand(buffer, MessageType.Stop)]);
        Assert.Equal(0, board.WriteNextFrame(new byte[64]));
        Answer(board, buffer[..FrameEncoder.WriteCommand(buffer, MessageType.Start)]);
        Assert.NotEqual(0, board.WriteNextFrame(new byte[64]));

        Assert.Equal([AckResult.UnknownCommand], Answer(board, buffer[..FrameEncoder.WriteFrame(buffer, (MessageType)0x9F, [])]).Acks);
    }

    [Fact]
    public async Task The_host_loop_on_the_simulated_board_delivers_every_instant_without_gaps()
    {
        var sink = new RecordingSink();
        var options = new AcquisitionOptions();
        var loop = new AcquisitionLoop(new SimulatedBoardLink(options.Simulator, SensorGain, TimeProvider.System), [sink], options, TimeProvider.System, NullLogger<AcquisitionLoop>.Instance);
        using var stop = new CancellationTokenSource();
        Task run = loop.RunAsync(stop.Token);

        await Eventually.TrueAsync(() => sink.SampleCount >= 3000, TimeSpan.FromSeconds(30), "3 s of samples");
        await stop.CancelAsync();
        await run;

        IReadOnlyList<(long Index, ushort[] Counts)> samples = sink.Samples;
        Assert.Equal(Enumerable.Range(0, samples.Count).Select(i => (long)i), samples.Select(s => s.Index));
        Assert.Empty(sink.Gaps);
        Assert.Equal(8, sink.Boards[0].ChannelCount);
        Assert.Equal(new DecoderCounters(samples.Count, 0, 0, 0, 0, 0, 0, 0, 0, 0), loop.Counters);
    }

    private static (List<AckResult> Acks, BoardInfo? Hello) Answer(SimulatedBoard board, byte[] command)
    {
        var responses = new byte[WireFormat.MaxFrameSize * 2];
        int n = board.HandleCommands(new ReadOnlySequence<byte>(command), responses);
        var decoder = new BoardStreamDecoder();
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(responses, 0, n));
        var acks = new List<AckResult>();
        BoardInfo? hello = null;
        while (decoder.TryRead(ref reader, out BoardMessage message))
        {
            if (message.Type == MessageType.Ack)
            {
                acks.Add(message.AckResult);
            }
            if (message.Type == MessageType.Hello)
            {
                hello = message.Info;
            }
        }
        Assert.Equal(0, reader.Remaining);
        return (acks, hello);
    }

    private static byte[] Bytes(SimulatorOptions options, int frames)
    {
        var board = new SimulatedBoard(options, SensorGain);
        var bytes = new List<byte>();
        var frame = new byte[64];
        for (int i = 0; i < frames; i++)
        {
            bytes.AddRange(frame[..board.WriteNextFrame(frame)]);
        }
        return bytes.ToArray();
    }

    private static double PowerAt(double[] x, double hz)
    {
        double re = 0, im = 0;
        for (int i = 0; i < x.Length; i++)
        {
            re += x[i] * Math.Cos(2 * Math.PI * hz * i / 1000);
            im += x[i] * Math.Sin(2 * Math.PI * hz * i / 1000);
        }
        return re * re + im * im;
    }
}
