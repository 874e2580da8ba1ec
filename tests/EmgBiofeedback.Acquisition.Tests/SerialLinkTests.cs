using EmgBiofeedback.Protocol;
using Microsoft.Extensions.Logging.Abstractions;

namespace EmgBiofeedback.Acquisition.Tests;

/// <summary>The real serial path: simulated board -> socat pty pair -> System.IO.Ports -> decoder.</summary>
public class SerialLinkTests
{
    private const int SampleRate = 1000;
    private const int Channels = 8;
    private const double SensorGain = 200;

    [Fact]
    public async Task Ten_seconds_over_a_real_pty_arrive_complete_in_order_and_an_unplug_is_reported_as_an_exact_gap()
    {
        await using SocatPtyPair pty = await SocatPtyPair.StartAsync();
        var simulator = new SimulatorOptions { Channels = Channels, SampleRateHz = SampleRate };
        var boardPort = new SimulatedBoardPort(new SimulatedBoardDriver(new SimulatedBoard(simulator, SensorGain), TimeProvider.System), pty.BoardEnd, TimeProvider.System);
        var options = new AcquisitionOptions { Serial = { PortName = pty.HostEnd }, ReconnectMaxDelay = TimeSpan.FromMilliseconds(300) };
        var sink = new RecordingSink();
        var loop = new AcquisitionLoop(new SerialBoardLink(options.Serial), [sink], options, TimeProvider.System, NullLogger<AcquisitionLoop>.Instance);
        using var stop = new CancellationTokenSource();
        Task board = boardPort.RunAsync(stop.Token);
        Task acquisition = loop.RunAsync(stop.Token);

        await Eventually.TrueAsync(() => sink.SampleCount >= 10 * SampleRate, TimeSpan.FromSeconds(60), "10 s of frames");
        Assert.Empty(sink.Gaps);

        await pty.UnplugAsync();
        await Eventually.TrueAsync(() => sink.Count(StationEventKind.Disconnected) == 1, TimeSpan.FromSeconds(10), "the host to notice the unplug");
        int atUnplug = sink.SampleCount;
        await Task.Delay(TimeSpan.FromSeconds(2)); // the outage itself: the board keeps sampling meanwhile
        await pty.PlugInAsync();
        await Eventually.TrueAsync(() => sink.SampleCount >= atUnplug + 2 * SampleRate, TimeSpan.FromSeconds(60), "frames after the reconnect");
        await stop.CancelAsync();
        await acquisition;
        await IgnoreCancellation(board);

        Assert.Equal(1, loop.Reconnects);
        Assert.Equal(2, sink.Count(StationEventKind.Connected));
        SampleGap gap = Assert.Single(sink.Gaps);
        Assert.Equal(GapCause.SequenceGap, gap.Cause);
        Assert.InRange(gap.Lost, SampleRate, 30 * SampleRate); // at least the 2 s outage's worth, counted from the sequence
        Assert.True(gap.NextSampleIndex > atUnplug);

        // No sample invented, dropped unreported, reordered or altered: indices run without holes except the
        // reported one, and every value equals what the board sampled at that instant.
        IReadOnlyList<(long Index, ushort[] Counts)> samples = sink.Samples;
        long expectedIndex = 0;
        foreach ((long index, _) in samples)
        {
            if (index == gap.NextSampleIndex)
            {
                expectedIndex += gap.Lost;
            }
            Assert.Equal(expectedIndex++, index);
        }
        AssertValuesMatchTheBoard(simulator, firstSequence: sink.Boards[0].NextSequence, samples);
    }

    [Fact]
    public async Task A_board_that_restarts_while_unplugged_is_reported_as_an_estimated_gap_and_its_new_stream_follows()
    {
        await using SocatPtyPair pty = await SocatPtyPair.StartAsync();
        var simulator = new SimulatorOptions { Channels = Channels, SampleRateHz = SampleRate };
        var options = new AcquisitionOptions { Serial = { PortName = pty.HostEnd }, ReconnectMaxDelay = TimeSpan.FromMilliseconds(300) };
        var sink = new RecordingSink();
        var loop = new AcquisitionLoop(new SerialBoardLink(options.Serial), [sink], options, TimeProvider.System, NullLogger<AcquisitionLoop>.Instance);
        using var stopHost = new CancellationTokenSource();
        using var stopFirstBoard = new CancellationTokenSource();
        Task firstBoard = StartBoard(simulator, pty.BoardEnd, stopFirstBoard.Token);
        Task acquisition = loop.RunAsync(stopHost.Token);

        await Eventually.TrueAsync(() => sink.SampleCount >= 2 * SampleRate, TimeSpan.FromSeconds(60), "2 s of frames");
        await pty.UnplugAsync();
        await stopFirstBoard.CancelAsync();
        await IgnoreCancellation(firstBoard);
        await Eventually.TrueAsync(() => sink.Count(StationEventKind.Disconnected) == 1, TimeSpan.FromSeconds(10), "the host to notice the unplug");
        int atUnplug = sink.SampleCount;
        await pty.PlugInAsync();
        using var stopSecondBoard = new CancellationTokenSource();
        Task secondBoard = StartBoard(simulator, pty.BoardEnd, stopSecondBoard.Token); // a fresh boot: sequence 0
        await Eventually.TrueAsync(() => sink.SampleCount >= atUnplug + SampleRate, TimeSpan.FromSeconds(60), "frames from the restarted board");
        await stopHost.CancelAsync();
        await stopSecondBoard.CancelAsync();
        await acquisition;
        await IgnoreCancellation(secondBoard);

        SampleGap gap = Assert.Single(sink.Gaps);
        Assert.Equal(GapCause.BoardRestarted, gap.Cause);
        Assert.True(gap.Estimated);
        Assert.InRange(gap.Lost, 1, 60 * SampleRate);
        IReadOnlyList<(long Index, ushort[] Counts)> samples = sink.Samples;
        Assert.Equal(samples.Select(s => s.Index).Order(), samples.Select(s => s.Index));
        (long Index, ushort[] Counts)[] afterRestart = samples.Where(s => s.Index >= gap.NextSampleIndex).ToArray();
        Assert.Equal(gap.NextSampleIndex, afterRestart[0].Index);
        AssertValuesMatchTheBoard(simulator, firstSequence: 0, afterRestart.Select(s => (s.Index - gap.NextSampleIndex, s.Counts)).ToArray());
    }

    [Fact]
    public async Task Each_sample_carries_the_moment_its_bytes_were_read_from_the_port()
    {
        await using SocatPtyPair pty = await SocatPtyPair.StartAsync();
        var simulator = new SimulatorOptions { Channels = Channels, SampleRateHz = SampleRate };
        var options = new AcquisitionOptions { Serial = { PortName = pty.HostEnd } };
        var sink = new RecordingSink();
        var loop = new AcquisitionLoop(new SerialBoardLink(options.Serial), [sink], options, TimeProvider.System, NullLogger<AcquisitionLoop>.Instance);
        using var stop = new CancellationTokenSource();
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        Task board = StartBoard(simulator, pty.BoardEnd, stop.Token);
        Task acquisition = loop.RunAsync(stop.Token);

        await Eventually.TrueAsync(() => sink.SampleCount >= 2 * SampleRate, TimeSpan.FromSeconds(60), "2 s of frames");
        await stop.CancelAsync();
        await acquisition;
        await IgnoreCancellation(board);

        ArrivalTests.AssertPlausible(sink.Arrivals, start);
    }

    private static Task StartBoard(SimulatorOptions simulator, string device, CancellationToken cancellationToken) =>
        new SimulatedBoardPort(new SimulatedBoardDriver(new SimulatedBoard(simulator, SensorGain), TimeProvider.System), device, TimeProvider.System)
            .RunAsync(cancellationToken);

    private static void AssertValuesMatchTheBoard(SimulatorOptions simulator, uint firstSequence, IReadOnlyList<(long Index, ushort[] Counts)> samples)
    {
        var reference = new SimulatedBoard(simulator, SensorGain);
        var counts = new ushort[Channels];
        int next = 0;
        while (next < samples.Count)
        {
            Assert.True(reference.TrySampleNext(counts, out uint sequence));
            long index = sequence - firstSequence;
            if (index == samples[next].Index)
            {
                Assert.Equal(counts, samples[next].Counts);
                next++;
            }
        }
    }

    private static async Task IgnoreCancellation(Task task)
    {
        try
        {
            await task;
        }
        catch (OperationCanceledException)
        {
        }
    }
}
