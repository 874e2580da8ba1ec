using EmgBiofeedback.Dsp;
using EmgBiofeedback.Sessions;

namespace EmgBiofeedback.Sessions.Tests;

/// <summary>
/// A live session (guided calibration, targets, protocol, markers, which emit annotations) and the offline analysis
/// of its recording (the same frames, the emitted annotations fed through Apply) give the same values bit for bit
/// and the same summary text.
/// </summary>
public sealed class DeterminismTests
{
    private static readonly SessionInfo Info = new("s-42", "P042", "station-1", new DateTimeOffset(2026, 2, 1, 8, 0, 0, TimeSpan.Zero), "live");

    /// <summary>A signal with structure everywhere: rest noise, contractions in the MVC windows, a wandering SCM L around 20 %MVC.</summary>
    private static Func<long, int, Env> Signal(long mvcL, long mvcR, long protocol)
    {
        return (i, c) =>
        {
            double wobble = 1.5 * Math.Sin(i * 0.0031 + c) + 0.7 * Math.Sin(i * 0.017 + 2 * c);
            double v;
            if (i < mvcL)
            {
                v = 5 + wobble / 3;
            }
            else if (i < protocol)
            {
                long s = c == 0 ? mvcL : c == 1 ? mvcR : long.MaxValue;
                long t = i - s;
                bool contracting = t >= 0 && t % 10_000 < 5_000 && t < 25_000;
                v = contracting ? 90 + 30 * Math.Sin(t * 0.0007) + wobble : 6 + wobble / 3;
            }
            else
            {
                v = c == 0 ? 20 + 6 * Math.Sin(i * 0.0009) + wobble : 25 + 10 * Math.Sin(i * 0.0004 + c) + wobble;
            }
            bool valid = !(i is >= 130_000 and < 130_400 && c == 2);
            var q = i is >= 140_000 and < 140_100 && c == 3 ? SignalQualityFlags.MainsContamination : SignalQualityFlags.None;
            return new Env(Math.Max(0, v), q, valid);
        };
    }

    private static (Rig Live, List<ClinicalAnnotation> Annotations, Func<long, int, Env> Gen, long End) RunLive()
    {
        var live = new Rig();
        live.Session.StartCalibration(CalibrationStep.Rest, null, 0);
        live.FeedUntil(10_040, Signal(10_040, 35_060, 60_080));
        long mvcL = live.Session.NextPosition;
        Assert.Equal(10_040, mvcL);
        var gen = Signal(10_040, 35_060, 60_080);
        live.Session.StartCalibration(CalibrationStep.Mvc, "SCM L", mvcL);
        live.FeedUntil(35_060, gen);
        Assert.Null(live.Session.Running);
        live.Session.StartCalibration(CalibrationStep.Mvc, "SCM R", live.Session.NextPosition);
        live.FeedUntil(60_080, gen);
        Assert.Null(live.Session.Running);
        Assert.NotNull(live.Session.CalibrationOf("SCM L"));
        Assert.NotNull(live.Session.CalibrationOf("SCM R"));

        long p = live.Session.NextPosition;
        live.Session.SetTarget("SCM L", TargetSpec.Below(20), p);
        live.Session.SetTarget("SCM R", new TargetSpec(TargetDirection.Above, 30, 25, 0.5, null, 0), p);
        live.Session.StartProtocol(ProtocolTemplate.Short, p);
        live.FeedUntil(p + 33_333, gen);
        live.Session.Mark("sensory trick", live.Session.NextPosition);
        live.FeedUntil(p + 41_000, gen);
        live.Session.Pause(live.Session.NextPosition);
        live.FeedUntil(p + 47_000, gen);
        live.Session.Resume(live.Session.NextPosition);
        live.Session.SetTarget("SCM L", new TargetSpec(TargetDirection.Below, 22, 17, 0.3), live.Session.NextPosition);
        live.Session.Outcome("tsui", 9, live.Session.NextPosition);
        live.FeedUntil(p + 100_000, gen);
        live.Session.Mark("patient talked", live.Session.NextPosition);
        long end = p + 112_000;
        live.FeedUntil(end, gen);
        live.Session.End(live.Session.NextPosition);
        return (live, live.Annotations.ToList(), gen, end);
    }

    private static Rig Offline(IEnumerable<ClinicalAnnotation> annotations, Func<long, int, Env> gen, long end)
    {
        var offline = new Rig();
        foreach (ClinicalAnnotation a in annotations)
        {
            // As the reader does: the recording keeps the text, position and duration only.
            offline.Session.Apply(ClinicalAnnotation.Parse(a.Text, a.Position, a.Duration)!);
        }
        offline.FeedUntil(end, gen);
        offline.Session.Flush();
        return offline;
    }

    [Fact]
    public void Live_actions_and_their_annotations_applied_offline_give_identical_frames_and_summary()
    {
        (Rig live, List<ClinicalAnnotation> annotations, Func<long, int, Env> gen, long end) = RunLive();
        Assert.Contains(annotations, a => a.Kind == ClinicalAnnotationKind.CalibrationRest);
        Assert.Equal(6, annotations.Count(a => a.Kind == ClinicalAnnotationKind.CalibrationMvc));
        Assert.Contains(annotations, a => a.Kind == ClinicalAnnotationKind.Trial);
        Assert.Equal(2, annotations.Count(a => a.Kind == ClinicalAnnotationKind.Marker));

        Rig offline = Offline(annotations, gen, end);
        FrameStore a = live.Session.Frames, b = offline.Session.Frames;
        Assert.Equal(a.Count, b.Count);
        for (int c = 0; c < 4; c++)
        {
            Assert.Equal(a.Percent(c).ToArray().Select(BitConverter.DoubleToInt64Bits), b.Percent(c).ToArray().Select(BitConverter.DoubleToInt64Bits));
            Assert.Equal(a.States(c).ToArray(), b.States(c).ToArray());
        }
        // The live output is what the store kept.
        Assert.Equal(live.Outputs.Select(o => o.Values[0].Target), a.States(0).ToArray());

        Assert.Equal(live.Session.Calibrations, offline.Session.Calibrations);
        Assert.Contains(TargetState.Above, a.States(0).ToArray());
        Assert.Contains(TargetState.Inside, a.States(0).ToArray());

        string liveJson = SummaryJson.Write(SessionAnalysis.Summarize(live.Session, Info));
        string offlineJson = SummaryJson.Write(SessionAnalysis.Summarize(offline.Session, Info));
        Assert.Equal(liveJson, offlineJson);
        Assert.Contains("\"sensory trick\"", liveJson);
    }

    [Fact]
    public void The_same_frames_and_annotations_twice_give_the_same_summary_text()
    {
        (_, List<ClinicalAnnotation> annotations, Func<long, int, Env> gen, long end) = RunLive();
        string one = SummaryJson.Write(SessionAnalysis.Summarize(Offline(annotations, gen, end).Session, Info));
        string two = SummaryJson.Write(SessionAnalysis.Summarize(Offline(annotations, gen, end).Session, Info));
        Assert.Equal(one, two);
    }

    [Fact]
    public void Annotations_applied_in_any_order_before_the_frames_give_the_same_result()
    {
        // The reader may hand annotations in file order (by onset), not in the order the live session emitted them.
        (Rig live, List<ClinicalAnnotation> annotations, Func<long, int, Env> gen, long end) = RunLive();
        Rig byOnset = Offline(annotations.OrderBy(a => a.Position).ToList(), gen, end);
        Assert.Equal(SummaryJson.Write(SessionAnalysis.Summarize(live.Session, Info)), SummaryJson.Write(SessionAnalysis.Summarize(byOnset.Session, Info)));
        for (int c = 0; c < 4; c++)
        {
            Assert.Equal(live.Session.Frames.Percent(c).ToArray(), byOnset.Session.Frames.Percent(c).ToArray());
        }
    }
    [Fact]
    public void A_marker_typed_as_a_vocabulary_text_means_the_same_live_and_offline()
    {
        // The clinician types "target SCM L off" as a marker: live it is only a marker, but the recording keeps the
        // text, and offline it reads back as clearing the target. Either Mark refuses such a text or both agree.
        var live = new Rig();
        live.Apply(Rig.ReusedScmL, 0);
        live.Session.SetTarget("SCM L", TargetSpec.Below(20), 0);
        Func<long, int, Env> gen = (i, c) => new Env(10 + (i / 1_000) % 20);
        live.FeedUntil(5_000, gen);
        try
        {
            live.Session.Mark("target SCM L off", live.Session.NextPosition);
        }
        catch (SessionRuleException)
        {
            return;
        }
        live.FeedUntil(30_000, gen);
        Rig offline = Offline(live.Annotations.Prepend(ClinicalAnnotation.Parse(Rig.ReusedScmL, 0, 0)!), gen, 30_000);
        Assert.Equal(live.Session.Frames.States(0).ToArray(), offline.Session.Frames.States(0).ToArray());
    }
}
