using EmgBiofeedback.Contracts.V1;

namespace EmgBiofeedback.Cli.Tests;

/// <summary>What the streams feed into the view: newest frame only, never stale values shown as live.</summary>
public class WatchStateTests
{
    private sealed class ManualClock(DateTimeOffset start) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = start;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    private static ActivationFrame Frame(ulong sequence, float mvc, uint missed = 0)
    {
        var muscle = new MuscleActivation { Channel = 0, Label = "SCM L", RmsMicrovolts = 80, Target = TargetState.Inside, Valid = true, MvcPercent = mvc };
        return new ActivationFrame { Sequence = sequence, MissedBefore = missed, SourceKind = SourceKind.SimulatedBoard, Muscles = { muscle } };
    }

    [Fact]
    public void Rows_say_no_signal_once_no_frame_came_for_more_than_a_second()
    {
        var clock = new ManualClock(new DateTimeOffset(2025, 3, 1, 10, 0, 0, TimeSpan.Zero));
        var state = new WatchState("http://127.0.0.1:5080", clock);
        state.Connecting();
        state.OnFrame(Frame(1, 33));
        state.OnFrame(Frame(2, 64, missed: 3));

        clock.Now += TimeSpan.FromMilliseconds(900);
        string fresh = WatchViewTests.Show(state.Snapshot());
        Assert.Contains("64 %MVC", fresh, StringComparison.Ordinal); // the newest frame, not the first
        Assert.DoesNotContain("33 %MVC", fresh, StringComparison.Ordinal);
        Assert.Contains("● inside", fresh, StringComparison.Ordinal);
        Assert.DoesNotContain("no signal", fresh, StringComparison.Ordinal);
        Assert.Contains("frames missed by this view: 3", fresh, StringComparison.Ordinal);

        clock.Now += TimeSpan.FromMilliseconds(200); // 1.1 s since the last frame
        string stale = WatchViewTests.Show(state.Snapshot());
        Assert.Contains("no signal", stale, StringComparison.Ordinal);
        Assert.Contains("SCM L", stale, StringComparison.Ordinal);
        Assert.DoesNotContain("64 %MVC", stale, StringComparison.Ordinal);
        Assert.DoesNotContain("● inside", stale, StringComparison.Ordinal);
        Assert.Contains("no frame for 1.1 s", stale, StringComparison.Ordinal);

        state.OnFrame(Frame(3, 20));
        Assert.Contains("20 %MVC", WatchViewTests.Show(state.Snapshot()), StringComparison.Ordinal);
    }

    [Fact]
    public void Prompts_come_from_protocol_and_calibration_events_and_count_down_locally()
    {
        var clock = new ManualClock(new DateTimeOffset(2025, 3, 1, 10, 0, 0, TimeSpan.Zero));
        var state = new WatchState("http://127.0.0.1:5080", clock);
        state.OnFrame(Frame(1, 10));

        state.OnEvent(new Event { Kind = EventKind.CalibrationPrompt, Instruction = "Shrug both shoulders as hard as you can", Trial = 2, Trials = 3, SecondsLeft = 5 });
        clock.Now += TimeSpan.FromSeconds(1.5);
        state.OnFrame(Frame(2, 10));
        string screen = WatchViewTests.Show(state.Snapshot());
        Assert.Contains("Shrug both shoulders as hard as you can", screen, StringComparison.Ordinal);
        Assert.Contains("contraction 2 of 3", screen, StringComparison.Ordinal);
        Assert.Contains("4 s left", screen, StringComparison.Ordinal);

        state.OnEvent(new Event { Kind = EventKind.CalibrationResult, StepDone = true, Message = "calibration accepted" });
        screen = WatchViewTests.Show(state.Snapshot());
        Assert.DoesNotContain("Shrug both shoulders", screen, StringComparison.Ordinal);
        Assert.Contains("calibration accepted", screen, StringComparison.Ordinal);

        state.OnEvent(new Event { Kind = EventKind.ProtocolPhase, Phase = Phase.Rest, Instruction = "Relax", Trial = 1, Trials = 10, SecondsLeft = 10 });
        Assert.Contains("Relax", WatchViewTests.Show(state.Snapshot()), StringComparison.Ordinal);
        state.OnEvent(new Event { Kind = EventKind.ProtocolPhase, Phase = Phase.Done, Message = "protocol cd-10x10 done" });
        Assert.DoesNotContain("Relax", WatchViewTests.Show(state.Snapshot()), StringComparison.Ordinal);
    }
}
