using EmgBiofeedback.Contracts.V1;
using Spectre.Console.Testing;

namespace EmgBiofeedback.Cli.Tests;

/// <summary>The screen of `emg watch`, rendered from view models on Spectre's test console: no server needed.</summary>
public class WatchViewTests
{
    private static readonly DateTimeOffset T0 = new(2025, 3, 1, 10, 0, 0, TimeSpan.Zero);

    internal static string Show(WatchModel model)
    {
        using var console = new TestConsole();
        console.Width(140);
        console.Write(WatchView.Render(model));
        return console.Output;
    }

    private static string Row(string screen, string label) =>
        Assert.Single(screen.Split('\n'), l => l.Contains($" {label} ", StringComparison.Ordinal));

    private static MuscleActivation Muscle(uint channel, string label, float? mvc, TargetState target = TargetState.Unspecified, QualityFlag quality = QualityFlag.None, bool valid = true, float rms = 20)
    {
        var m = new MuscleActivation { Channel = channel, Label = label, RmsMicrovolts = rms, Target = target, Quality = (uint)quality, Valid = valid };
        if (mvc is { } v)
        {
            m.MvcPercent = v;
        }
        return m;
    }

    private static ActivationFrame Frame(SourceKind kind) => new()
    {
        Sequence = 100,
        SourceKind = kind,
        Muscles =
        {
            Muscle(0, "SCM L", 50, TargetState.Above),
            Muscle(1, "SCM R", 12, TargetState.Inside),
            Muscle(2, "UT L", 3, TargetState.Below, QualityFlag.Mains),
            Muscle(3, "UT R", null, quality: QualityFlag.Flatline, rms: 0.4f),
            Muscle(4, "SPL L", 40, valid: false),
        },
    };

    private static Status Status(SourceKind kind) => new()
    {
        Connected = true,
        Link = "simulated board (8 ch x 1000 Hz)",
        SourceKind = kind,
        Counters = new Counters { LostFrames = 17, Gaps = 2, CrcErrors = 3 },
        Session = new Session { SessionId = "s-42", PatientCode = "P07" },
    };

    private static WatchModel Streaming(SourceKind kind, TimeSpan sinceFrame) => new()
    {
        Url = "http://127.0.0.1:5080",
        Link = WatchLink.Streaming,
        Frame = Frame(kind),
        FrameAt = T0,
        Status = Status(kind),
        StatusAt = T0,
        Prompt = new WatchPrompt(EventKind.ProtocolPhase, Phase.Work, "Turn your head slowly to the right", 3, 10, 10, T0 - TimeSpan.FromSeconds(2.5)),
        Now = T0 + sinceFrame,
    };

    [Fact]
    public void Each_muscle_shows_its_label_bar_value_target_in_words_and_quality_under_the_prompt_and_the_source_kind()
    {
        string screen = Show(Streaming(SourceKind.SimulatedBoard, TimeSpan.FromMilliseconds(200)));

        Assert.Contains("SIMULATED", screen, StringComparison.Ordinal);
        Assert.Contains("not a patient's signal", screen, StringComparison.Ordinal);
        Assert.Contains("patient P07", screen, StringComparison.Ordinal);
        Assert.Contains("17 frames lost in 2 gaps, 3 CRC errors", screen, StringComparison.Ordinal);

        // 50 %MVC fills half the bar; the target state is a symbol and a word, not a colour alone.
        string scmL = Row(screen, "SCM L");
        Assert.Contains(new string('█', 10) + new string('░', 10), scmL, StringComparison.Ordinal);
        Assert.Contains("50 %MVC", scmL, StringComparison.Ordinal);
        Assert.Contains("▲ above", scmL, StringComparison.Ordinal);
        Assert.Contains(" ok ", scmL, StringComparison.Ordinal);
        string scmR = Row(screen, "SCM R");
        Assert.Contains("12 %MVC", scmR, StringComparison.Ordinal);
        Assert.Contains("● inside", scmR, StringComparison.Ordinal);
        Assert.Contains(new string('█', 2) + new string('░', 18), scmR, StringComparison.Ordinal);
        string utL = Row(screen, "UT L");
        Assert.Contains("▼ below", utL, StringComparison.Ordinal);
        Assert.Contains("mains", utL, StringComparison.Ordinal);

        // Not calibrated: µV, marked so; a flat line is an electrode off.
        string utR = Row(screen, "UT R");
        Assert.Contains("0.4 µV uncal.", utR, StringComparison.Ordinal);
        Assert.DoesNotContain("%MVC", utR, StringComparison.Ordinal);
        Assert.Contains("electrode off", utR, StringComparison.Ordinal);
        Assert.Contains("not calibrated", screen, StringComparison.Ordinal);

        // Settling filters: no bar, no value, said so.
        string splL = Row(screen, "SPL L");
        Assert.Contains("settling", splL, StringComparison.Ordinal);
        Assert.DoesNotContain("40 %MVC", splL, StringComparison.Ordinal);
        Assert.DoesNotContain("█", splL, StringComparison.Ordinal);

        // 10 s announced 2.7 s ago: 8 s left (counted down locally), trial 3 of 10.
        Assert.Contains("Turn your head slowly to the right", screen, StringComparison.Ordinal);
        Assert.Contains("trial 3 of 10", screen, StringComparison.Ordinal);
        Assert.Contains("8 s left", screen, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(SourceKind.SimulatedBoard, "SIMULATED")]
    [InlineData(SourceKind.Replay, "REPLAY")]
    public void A_source_that_is_not_a_patients_board_is_said_plainly(SourceKind kind, string word)
    {
        string screen = Show(Streaming(kind, TimeSpan.Zero));
        Assert.Contains(word, screen, StringComparison.Ordinal);
        Assert.DoesNotContain("PATIENT", screen, StringComparison.Ordinal);

        string patient = Show(Streaming(SourceKind.SerialBoard, TimeSpan.Zero));
        Assert.DoesNotContain(word, patient, StringComparison.Ordinal);
        Assert.Contains("PATIENT", patient, StringComparison.Ordinal);
    }

    [Fact]
    public void The_countdown_stops_at_zero_and_a_finished_protocol_shows_no_prompt()
    {
        WatchModel late = Streaming(SourceKind.SimulatedBoard, TimeSpan.FromSeconds(30));
        Assert.Contains("0 s left", Show(late with { FrameAt = late.Now }), StringComparison.Ordinal);

        WatchModel done = Streaming(SourceKind.SimulatedBoard, TimeSpan.Zero);
        done = done with { Prompt = done.Prompt! with { Phase = Phase.Done } };
        Assert.DoesNotContain("Turn your head", Show(done), StringComparison.Ordinal);
    }

    [Fact]
    public void A_failed_stream_says_no_connection_retrying_and_shows_no_values()
    {
        WatchModel failed = Streaming(SourceKind.SimulatedBoard, TimeSpan.FromMilliseconds(100)) with
        {
            Link = WatchLink.Retrying,
            LinkProblem = "Unavailable: Error connecting to subchannel.",
        };
        string screen = Show(failed);

        Assert.Contains("no connection — retrying", screen, StringComparison.Ordinal);
        Assert.Contains("Error connecting to subchannel", screen, StringComparison.Ordinal);
        Assert.Contains("no signal", Row(screen, "SCM L"), StringComparison.Ordinal);
        Assert.DoesNotContain("%MVC ", screen.Replace("0-100 %MVC", "", StringComparison.Ordinal), StringComparison.Ordinal);
    }
}
