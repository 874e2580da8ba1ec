using EmgBiofeedback.Dsp;
using EmgBiofeedback.Sessions;

namespace EmgBiofeedback.Sessions.Tests;

/// <summary>One channel's envelope at one frame, as a test generator gives it.</summary>
public readonly record struct Env(double Rms, SignalQualityFlags Quality = SignalQualityFlags.None, bool Valid = true);

/// <summary>
/// A <see cref="ClinicalSession"/> fed with synthetic frames the way the signal chain makes them: 1000 Hz sampling,
/// 50 Hz output, one frame every 20 samples with SampleIndex = 19, 39, 59, ...; every notice and every frame's output
/// kept for the assertions.
/// </summary>
public sealed class Rig
{
    public const double SampleRateHz = 1000;
    public const double OutputRateHz = 50;
    public const int SamplesPerFrame = 20;

    public const string ReusedScmL = "calibration reused SCM L rest 5 mvc 100 from 2026-01-01T00:00:00Z";

    private long _nextIndex = SamplesPerFrame - 1;

    public Rig(Montage? montage = null, int channels = 4, CalibrationSettings? calibration = null)
    {
        Session = new ClinicalSession(new ClinicalSetup(montage ?? Montage.Default, channels, SampleRateHz, OutputRateHz, 100,
            calibration ?? new CalibrationSettings()));
        Session.Notice += Notices.Add;
    }

    public ClinicalSession Session { get; }

    public List<ClinicalNotice> Notices { get; } = [];

    /// <summary>Every frame's sample index and output, in order.</summary>
    public List<(long Index, ClinicalValue[] Values)> Outputs { get; } = [];

    /// <summary>The sample index of the next frame.</summary>
    public long NextIndex => _nextIndex;

    /// <summary>The annotations the notices carried, in emission order.</summary>
    public IEnumerable<ClinicalAnnotation> Annotations => Notices.Where(n => n.Annotation is not null).Select(n => n.Annotation!);

    public int Channels => Session.Setup.ChannelCount;

    /// <summary>One frame with the generator's values.</summary>
    public ClinicalValue[] Frame(Func<long, int, Env> gen)
    {
        var frame = new EnvelopeSample[Channels];
        for (int c = 0; c < Channels; c++)
        {
            Env e = gen(_nextIndex, c);
            frame[c] = new EnvelopeSample { SampleIndex = _nextIndex, Channel = (short)c, RmsMicrovolts = e.Rms, Quality = e.Quality, IsValid = e.Valid };
        }
        var output = new ClinicalValue[Channels];
        Session.Process(frame, output);
        Outputs.Add((_nextIndex, output));
        _nextIndex += SamplesPerFrame;
        return output;
    }

    /// <summary>Frames until the next one would have a sample index at or after <paramref name="end"/>.</summary>
    public void FeedUntil(long end, Func<long, int, Env> gen)
    {
        while (_nextIndex < end)
        {
            Frame(gen);
        }
    }

    /// <summary>The same value on one channel, <paramref name="others"/> elsewhere, for <paramref name="frames"/> frames.</summary>
    public List<ClinicalValue[]> Frames(int frames, Func<long, int, Env> gen)
    {
        var list = new List<ClinicalValue[]>();
        for (int i = 0; i < frames; i++)
        {
            list.Add(Frame(gen));
        }
        return list;
    }

    public void Apply(string text, long position, long duration = 0) =>
        Session.Apply(ClinicalAnnotation.Parse(text, position, duration) ?? throw new InvalidOperationException($"\"{text}\" does not parse"));

    public static Func<long, int, Env> Constant(double rms) => (_, _) => new Env(rms);

    /// <summary>Frames per second of output.</summary>
    public static int FramesPerSecond => (int)OutputRateHz;
}
