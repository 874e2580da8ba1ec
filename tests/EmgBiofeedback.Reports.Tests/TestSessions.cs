using EmgBiofeedback.Dsp;
using EmgBiofeedback.Sessions;

namespace EmgBiofeedback.Reports.Tests;

/// <summary>
/// Sessions built by hand on sample time (1000 Hz, a frame every 20 samples): envelope values chosen so that every
/// index of the summary is known in advance.
/// </summary>
internal static class TestSessions
{
    public const double Rate = 1000;
    public const int Step = 20;

    public static readonly SessionInfo Info = new("S0042", "P-7F3A", "bench-2", new DateTimeOffset(2025, 3, 14, 9, 30, 0, TimeSpan.FromHours(1)), "board");

    /// <summary>
    /// Default montage, 4 channels. 0-10 s rest at 5 µV (calibration rest); MVCs: SCM L 200 µV at 10-15 s, SCM R 100 µV
    /// at 15-20 s, UT L 150 µV at 20-25 s; UT R never calibrated. Target SCM L below 20 from 25 s. Baseline pre 25-35 s
    /// (SCM L 10 µV = 5 %MVC), trial 1 work 35-45 s (SCM L 30 µV = 15 %, SCM R 20 µV = 20 %), rest 45-55 s, trial 2 work
    /// 55-65 s (SCM L 50 µV = 25 %), rest 65-75 s, baseline post 75-85 s (SCM L 8 µV = 4 %). A marker at 40 s, and
    /// TWSTRS total 32.
    /// </summary>
    public static (ClinicalSession Session, SessionSummary Summary) Small(string marker = "<script>alert(1)</script> sensory trick")
    {
        var session = new ClinicalSession(new ClinicalSetup(Montage.Default, 4, Rate, Rate / Step, 100, new CalibrationSettings()));
        Apply(session, "calibration rest", 0, 10);
        Apply(session, "calibration mvc SCM L", 10, 5);
        Apply(session, "calibration mvc SCM R", 15, 5);
        Apply(session, "calibration mvc UT L", 20, 5);
        Apply(session, "target SCM L below 20", 25, 0);
        Apply(session, "baseline pre", 25, 10);
        Apply(session, "trial 1 work", 35, 10);
        Apply(session, "trial 1 rest", 45, 10);
        Apply(session, "trial 2 work", 55, 10);
        Apply(session, "trial 2 rest", 65, 10);
        Apply(session, "baseline post", 75, 10);
        Apply(session, marker, 40, 0);
        Apply(session, "outcome twstrs_total 32", 1, 0);
        Feed(session, 85, (channel, t) => (channel, t) switch
        {
            (0, >= 10 and < 15) => 200,
            (1, >= 15 and < 20) => 100,
            (2, >= 20 and < 25) => 150,
            (0, >= 25 and < 35) => 10,
            (0, >= 35 and < 45) => 30,
            (1, >= 35 and < 45) => 20,
            (0, >= 55 and < 65) => 50,
            (0, >= 75 and < 85) => 8,
            _ => 5,
        });
        session.Flush();
        return (session, SessionAnalysis.Summarize(session, Info));
    }

    /// <summary>
    /// The extended montage (8 muscles), every one calibrated, <paramref name="trials"/> trials of 10 s work and 10 s
    /// rest after a 60-s baseline, a 60-s baseline after, one marker per trial, targets on two muscles; lasting
    /// <paramref name="extraSeconds"/> longer at rest (a long session for the plot's downsampling).
    /// </summary>
    public static (ClinicalSession Session, SessionSummary Summary) Large(int trials = 10, double extraSeconds = 0)
    {
        var session = new ClinicalSession(new ClinicalSetup(Montage.Extended, 8, Rate, Rate / Step, 100, new CalibrationSettings()));
        Apply(session, "calibration rest", 0, 10);
        string[] labels = Montage.Extended.Entries.Select(e => e.Label).ToArray();
        for (int c = 0; c < 8; c++)
        {
            Apply(session, $"calibration mvc {labels[c]}", 10 + (5 * c), 5);
        }
        double t0 = 50;
        Apply(session, "target SCM L below 20", t0, 0);
        Apply(session, "target SPL R above 30 while SCM L above 10", t0, 0);
        Apply(session, "baseline pre", t0, 60);
        double start = t0 + 60;
        for (int n = 1; n <= trials; n++)
        {
            Apply(session, $"trial {n} work", start, 10);
            Apply(session, $"trial {n} rest", start + 10, 10);
            Apply(session, $"head turns at trial {n}", start + 5, 0);
            start += 20;
        }
        Apply(session, "baseline post", start, 60);
        Apply(session, "outcome twstrs_total 41", 1, 0);
        Apply(session, "outcome tsui 12", 1, 0);
        Apply(session, "outcome days_since_botulinum_toxin 84", 1, 0);
        double end = start + 60 + extraSeconds;
        double workEnd = start;
        Feed(session, end, (channel, t) =>
        {
            if (t >= 10 + (5 * channel) && t < 15 + (5 * channel))
            {
                return 100 + (20 * channel);
            }
            if (t >= t0 + 60 && t < workEnd && (t - t0 - 60) % 20 < 10)
            {
                return 10 + (3 * channel) + ((t - t0) % 7);
            }
            return 4 + (0.5 * Math.Sin(t + channel));
        });
        session.Flush();
        return (session, SessionAnalysis.Summarize(session, Info));
    }

    private static void Apply(ClinicalSession session, string text, double seconds, double durationSeconds) =>
        session.Apply(ClinicalAnnotation.Parse(text, (long)Math.Round(seconds * Rate), (long)Math.Round(durationSeconds * Rate))!);

    private static void Feed(ClinicalSession session, double seconds, Func<int, double, double> microvolts)
    {
        int channels = session.Setup.ChannelCount;
        var frame = new EnvelopeSample[channels];
        var output = new ClinicalValue[channels];
        for (long index = 0; index < (long)(seconds * Rate); index += Step)
        {
            double t = index / Rate;
            for (int c = 0; c < channels; c++)
            {
                frame[c] = new EnvelopeSample { SampleIndex = index, Channel = (short)c, RmsMicrovolts = microvolts(c, t), IsValid = true };
            }
            session.Process(frame, output);
        }
    }
}
