using MathNet.Numerics;

namespace EmgBiofeedback.History;

/// <summary>
/// Maps the samples' own time (the board's crystal, <see cref="Pipeline.ActivationFrame.SampleTimeSeconds"/>) to
/// wall-clock nanoseconds. The first frame anchors the mapping (wall time at that sample instant); after that a
/// point's time advances with sample time, so spacing is exact and points never collide. Once a second the
/// host's time of computation is recorded against sample time; a least-squares line through the last
/// <see cref="FitWindow"/> pairs gives the crystal's rate against the host clock. When the mapping and the fit
/// disagree by more than the tolerance, the mapping is re-anchored on the fit. A fitted rate more than
/// <see cref="MaxDriftPpm"/> from nominal is not a crystal (replay, a stalled host) and is ignored.
/// Used outside recorded sessions; a recorded session's points take its recording's timeline (<see cref="SessionTimeline"/>).
/// The mapping never goes backwards: after a re-anchor onto an earlier time, timestamps advance at half the
/// sample-time pace until they meet the new mapping (a slew, not a step), so consecutive points stay at least
/// half their nominal spacing apart and never collide, even in stores that keep only milliseconds.
/// </summary>
public sealed class SampleClock
{
    public const int FitWindow = 120;
    public const double MaxDriftPpm = 1000;

    private readonly double _toleranceNs;
    private readonly double[] _x = new double[FitWindow];
    private readonly double[] _y = new double[FitWindow];
    private int _count;
    private int _next;
    private double _lastFitSampleTime = double.NegativeInfinity;
    private bool _anchored;
    private double _anchorSampleTime;
    private long _anchorNs;
    private double _rate = 1; // host seconds per sample second
    private long _last = long.MinValue;
    private double _lastSampleTime = double.NaN;

    /// <param name="tolerance">How far the mapping may stray from the fit before it is re-anchored (default 5 ms).</param>
    public SampleClock(TimeSpan? tolerance = null)
    {
        _toleranceNs = (tolerance ?? TimeSpan.FromMilliseconds(5)).Ticks * 100.0;
    }

    public int ReAnchors { get; private set; }

    /// <summary>Host seconds per sample second, as last fitted.</summary>
    public double Rate => _rate;

    public static long ToUnixNs(DateTimeOffset t) => (t.UtcTicks - DateTime.UnixEpoch.Ticks) * 100;

    private void Anchor(double sampleTime, long ns)
    {
        _anchored = true;
        _anchorSampleTime = sampleTime;
        _anchorNs = ns;
    }

    /// <summary>Wall-clock ns of a sample instant; <paramref name="hostTime"/> is when the host computed it.</summary>
    public long ToUnixNanoseconds(double sampleTimeSeconds, DateTimeOffset hostTime)
    {
        if (!_anchored)
        {
            Anchor(sampleTimeSeconds, ToUnixNs(hostTime));
        }
        else if (sampleTimeSeconds - _lastFitSampleTime >= 1.0)
        {
            Observe(sampleTimeSeconds, hostTime);
        }
        long ns = _anchorNs + (long)Math.Round((sampleTimeSeconds - _anchorSampleTime) * 1e9 * _rate);
        if (_last != long.MinValue)
        {
            double step = sampleTimeSeconds - _lastSampleTime;
            long earliest = _last + Math.Max(1, (long)(step > 0 ? step * 0.5e9 : 0));
            ns = Math.Max(ns, earliest);
        }
        _last = ns;
        _lastSampleTime = sampleTimeSeconds;
        return ns;
    }

    private void Observe(double sampleTime, DateTimeOffset hostTime)
    {
        _lastFitSampleTime = sampleTime;
        // Relative to the anchor, so the doubles keep sub-microsecond resolution.
        _x[_next] = sampleTime - _anchorSampleTime;
        _y[_next] = ToUnixNs(hostTime) - _anchorNs;
        _next = (_next + 1) % FitWindow;
        _count = Math.Min(_count + 1, FitWindow);
        if (_count < 10)
        {
            return;
        }
        (double intercept, double slopeNsPerSecond) = Fit.Line(_x.AsSpan(0, _count).ToArray(), _y.AsSpan(0, _count).ToArray());
        double rate = slopeNsPerSecond / 1e9;
        if (Math.Abs(rate - 1) > MaxDriftPpm * 1e-6)
        {
            return;
        }
        double x = sampleTime - _anchorSampleTime;
        double fitted = intercept + slopeNsPerSecond * x;
        double mapped = x * 1e9 * _rate;
        if (Math.Abs(fitted - mapped) > _toleranceNs)
        {
            long newAnchor = _anchorNs + (long)Math.Round(fitted);
            // Re-basing the stored pairs on the new anchor keeps the fit window continuous.
            double shiftX = x;
            double shiftY = fitted;
            for (int i = 0; i < _count; i++)
            {
                _x[i] -= shiftX;
                _y[i] -= shiftY;
            }
            Anchor(sampleTime, newAnchor);
            _rate = rate;
            ReAnchors++;
        }
    }
}
