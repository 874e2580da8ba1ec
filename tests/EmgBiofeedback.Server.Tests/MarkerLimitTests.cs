using EmgBiofeedback.Dsp;
using EmgBiofeedback.Pipeline;
using EmgBiofeedback.Sessions;
using SessionOptions = EmgBiofeedback.Server.SessionOptions;
using Microsoft.Extensions.Options;

namespace EmgBiofeedback.Server.Tests;

/// <summary>Marker floods are refused by the session (gRPC ResourceExhausted) before anything is recorded.</summary>
public sealed class MarkerLimitTests
{
    private sealed class ManualClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = new(2026, 4, 12, 9, 0, 0, TimeSpan.Zero);
        public override DateTimeOffset GetUtcNow() => Now;
    }

    private sealed class Markers : ISessionObserver
    {
        public List<string> Added { get; } = [];
        public void SessionStarted(Session session, IReadOnlyList<string> labels, long firstSampleIndex) { }
        public void SessionEnded(Session session, long endSampleIndex) { }
        public void SessionStopped(StoppedSession stopped) { }
        public void Annotated(ClinicalAnnotation annotation, DateTimeOffset time) => Added.Add(annotation.Text);
    }

    private static (SessionManager Sessions, ManualClock Clock, Markers Observer) Start(SessionOptions options)
    {
        var clock = new ManualClock();
        var observer = new Markers();
        var sessions = new SessionManager(new LivePipeline(new SignalChainOptions(), [], clock), clock, [observer], Options.Create(options));
        sessions.Start("P-7F3A", Montage.Create([]), 0);
        return (sessions, clock, observer);
    }

    [Fact]
    public void Markers_beyond_the_burst_and_the_sustained_rate_are_refused_with_the_setting_named_and_not_recorded()
    {
        (SessionManager sessions, ManualClock clock, Markers observer) = Start(new SessionOptions { MarkersPerSecond = 10, MarkerBurst = 20 });

        for (int i = 0; i < 20; i++)
        {
            sessions.AddMarker($"burst {i}");
        }
        var refused = Assert.Throws<SessionLimitException>(() => sessions.AddMarker("one too many"));
        Assert.Contains("Sessions:MarkersPerSecond", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', refused.Message);

        // Sustained: 10 a second are accepted, the 11th is not.
        int accepted = 0;
        for (int i = 0; i < 100; i++)
        {
            clock.Now += TimeSpan.FromMilliseconds(10);
            try
            {
                sessions.AddMarker($"sustained {i}");
                accepted++;
            }
            catch (SessionLimitException)
            {
            }
        }
        Assert.Equal(10, accepted);
        Assert.Equal(30, observer.Added.Count);
        Assert.DoesNotContain("one too many", observer.Added);
        Assert.Equal(30, sessions.Stop(0).Markers);
    }

    [Fact]
    public void A_session_accepts_at_most_MaxMarkersPerSession_markers()
    {
        (SessionManager sessions, ManualClock clock, Markers observer) = Start(new SessionOptions { MaxMarkersPerSession = 50 });

        for (int i = 0; i < 50; i++)
        {
            clock.Now += TimeSpan.FromSeconds(1);
            sessions.AddMarker($"trial {i}");
        }
        clock.Now += TimeSpan.FromMinutes(5);
        var refused = Assert.Throws<SessionLimitException>(() => sessions.AddMarker("trial 51"));
        Assert.Contains("Sessions:MaxMarkersPerSession", refused.Message, StringComparison.Ordinal);
        Assert.Equal(50, observer.Added.Count);
    }

    [Fact]
    public void The_default_limits_are_the_documented_ones_and_validate()
    {
        var options = new SessionOptions();
        Assert.Equal((10.0, 20, 300), (options.MarkersPerSecond, options.MarkerBurst, options.MaxMarkersPerSession));
        Assert.True(new SessionOptionsValidator().Validate(null, options).Succeeded);
        Assert.True(new SessionOptionsValidator().Validate(null, new SessionOptions { MarkersPerSecond = 0 }).Failed);
    }
}
