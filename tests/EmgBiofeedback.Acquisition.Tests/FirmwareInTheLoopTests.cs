using System.Globalization;
using EmgBiofeedback.Protocol;
using Microsoft.Extensions.Logging.Abstractions;

namespace EmgBiofeedback.Acquisition.Tests;

/// <summary>
/// The real firmware, built from source and run in the AVR simulator, streams a real recording through a
/// pseudo-terminal into the host's own serial reader and decoder.
/// </summary>
public class FirmwareInTheLoopTests
{
    private const int InputBits = 12;
    private static readonly string Recording = RepositoryPaths.SharedData("biosppy-emg", "emg_1.txt");

    [Fact]
    public async Task Six_simulated_seconds_arrive_exactly_as_injected_at_the_nominal_rate_without_errors_or_gaps()
    {
        int[] source = FirmwareSimulator.LoadInput(Recording, InputBits);
        await using FirmwareSimulator firmware = await FirmwareSimulator.StartAsync("--fast", "--input-bits", "12", Recording);
        var options = new AcquisitionOptions { Serial = { PortName = firmware.Pty } };
        var sink = new RecordingSink();
        var loop = new AcquisitionLoop(new SerialBoardLink(options.Serial), [sink], options, TimeProvider.System, NullLogger<AcquisitionLoop>.Instance);
        using var stop = new CancellationTokenSource();
        Task acquisition = loop.RunAsync(stop.Token);

        await Eventually.TrueAsync(() => sink.SampleCount >= 6000, TimeSpan.FromSeconds(120), "6 simulated seconds of frames");
        await stop.CancelAsync();
        await acquisition;
        IReadOnlyDictionary<string, string> stats = await firmware.StopAsync(TimeSpan.FromSeconds(30));

        BoardInfo board = sink.Boards[0];
        Assert.Equal(("uno", 8, 1000, 10, 5000), (board.BoardName, board.ChannelCount, board.SampleRateHz, board.AdcBits, board.ReferenceMillivolts));
        double simulatedSeconds = double.Parse(stats["sim_s"], CultureInfo.InvariantCulture);
        long instants = long.Parse(stats["instants"], CultureInfo.InvariantCulture);
        Assert.True(simulatedSeconds >= 5.0);
        Assert.InRange(instants / simulatedSeconds, 995, 1005); // within 0.5% of 1000 Hz on the board's own clock

        IReadOnlyList<(long Index, ushort[] Counts)> samples = sink.Samples;
        Assert.Equal(Enumerable.Range(0, samples.Count).Select(i => (long)i), samples.Select(s => s.Index)); // no instant missing
        Assert.Empty(sink.Gaps);
        DecoderCounters counters = loop.Counters;
        Assert.Equal((0L, 0L, 0L, 0L), (counters.CrcErrors, counters.LostFrames, counters.MalformedFrames, counters.Duplicates));
        AssertSamplesEqualTheInjectedSignal(source, board.NextSequence, samples);
    }

    [Fact]
    public async Task Rate_and_channel_commands_sent_over_the_pty_take_effect_in_the_stream()
    {
        int[] source = FirmwareSimulator.LoadInput(Recording, InputBits);
        await using FirmwareSimulator firmware = await FirmwareSimulator.StartAsync("--fast", "--input-bits", "12", Recording);
        var options = new AcquisitionOptions { Serial = { PortName = firmware.Pty, Channels = 4, SampleRateHz = 500 } };
        var sink = new RecordingSink();
        var loop = new AcquisitionLoop(new SerialBoardLink(options.Serial), [sink], options, TimeProvider.System, NullLogger<AcquisitionLoop>.Instance);
        using var stop = new CancellationTokenSource();
        Task acquisition = loop.RunAsync(stop.Token);

        await Eventually.TrueAsync(() => sink.Samples.Count(s => s.Counts.Length == 4) >= 2000, TimeSpan.FromSeconds(60), "2000 four-channel frames");
        await stop.CancelAsync();
        await acquisition;

        BoardInfo last = sink.Boards[^1];
        Assert.Equal((4, 500), (last.ChannelCount, last.SampleRateHz));
        Assert.Empty(sink.Gaps);
        Assert.Equal(0, sink.Count(StationEventKind.CommandRejected));
        AssertSamplesEqualTheInjectedSignal(source, sink.Boards[0].NextSequence, sink.Samples);
    }

    [Fact]
    public async Task A_rate_the_board_cannot_sustain_is_refused_and_reported()
    {
        await using FirmwareSimulator firmware = await FirmwareSimulator.StartAsync("--fast");
        var options = new AcquisitionOptions { Serial = { PortName = firmware.Pty, SampleRateHz = 1500 } };
        var sink = new RecordingSink();
        var loop = new AcquisitionLoop(new SerialBoardLink(options.Serial), [sink], options, TimeProvider.System, NullLogger<AcquisitionLoop>.Instance);
        using var stop = new CancellationTokenSource();
        Task acquisition = loop.RunAsync(stop.Token);

        await Eventually.TrueAsync(() => sink.Count(StationEventKind.CommandRejected) == 1 && sink.SampleCount > 1000, TimeSpan.FromSeconds(60), "the refusal, then samples");
        await stop.CancelAsync();
        await acquisition;

        Assert.Contains("SetRate", sink.Events.Single(e => e.Kind == StationEventKind.CommandRejected).Message, StringComparison.Ordinal);
        Assert.All(sink.Boards, b => Assert.Equal(1000, b.SampleRateHz));
    }

    private static void AssertSamplesEqualTheInjectedSignal(int[] source, uint firstSequence, IReadOnlyList<(long Index, ushort[] Counts)> samples)
    {
        Assert.NotEmpty(samples);
        foreach ((long index, ushort[] counts) in samples)
        {
            uint sequence = firstSequence + (uint)index;
            for (int k = 0; k < counts.Length; k++)
            {
                int expected = FirmwareSimulator.Expected(source, sequence, k);
                if (counts[k] != expected)
                {
                    Assert.Fail($"sequence {sequence} channel {k}: got {counts[k]}, injected {expected}");
                }
            }
        }
    }
}
