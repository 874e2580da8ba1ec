using EmgBiofeedback.Pipeline;

namespace EmgBiofeedback.History.Tests;

/// <summary>
/// A frame is tagged with the session its samples belong to, not with the session running when the writer reads it: the
/// writer reads from a queue, so the last frames of a session can be read after it stopped (the long end-to-end run
/// found the last two frames of a session missing from its history series) and a frame computed just before a session
/// can be read after it started.
/// </summary>
public sealed class SessionSpansTests
{
    private static readonly HistorySession S1 = new("S-1", "P017");
    private static readonly HistorySession S2 = new("S-2", "P017");

    [Fact]
    public void A_session_holds_the_frames_from_its_first_sample_to_its_end_even_when_read_after_it_stopped()
    {
        var spans = new SessionSpans();
        spans.Started(S1, firstSampleIndex: 1000);
        spans.Ended(endSampleIndex: 3000);
        spans.Stopped();

        Assert.Null(spans.Current);
        Assert.Null(spans.For(999));       // computed before the session, read after it started
        Assert.Same(S1, spans.For(1019));
        Assert.Same(S1, spans.For(2999));  // its last frame, read after the stop
        Assert.Null(spans.For(3019));      // after its end
    }

    [Fact]
    public void Once_a_frame_past_the_end_is_read_the_stopped_session_tags_nothing_more()
    {
        var spans = new SessionSpans();
        spans.Started(S1, 1000);
        spans.Ended(3000);
        spans.Stopped();

        Assert.Null(spans.For(3019));
        Assert.Null(spans.For(2999)); // an index from a chain started afresh (a board reset) is not the old session's
    }

    [Fact]
    public void The_next_session_takes_its_own_frames_while_the_last_ones_of_the_previous_are_still_being_read()
    {
        var spans = new SessionSpans();
        spans.Started(S1, 1000);
        spans.Ended(3000);
        spans.Stopped();
        spans.Started(S2, 3500);

        Assert.Same(S2, spans.Current);
        Assert.Same(S1, spans.For(2999));
        Assert.Null(spans.For(3019));
        Assert.Same(S2, spans.For(3519));
    }

    [Fact]
    public void Between_the_end_and_the_stop_frames_past_the_end_are_no_longer_the_session_s()
    {
        var spans = new SessionSpans();
        spans.Started(S1, 1000);
        spans.Ended(3000); // the recording ended; the summary and report are still being written

        Assert.Same(S1, spans.Current); // its stop event is still the session's
        Assert.Same(S1, spans.For(2999));
        Assert.Null(spans.For(3019));
    }

    [Fact]
    public void Unknown_first_sample_tags_every_frame_read_and_an_end_never_told_tags_none_after_the_stop()
    {
        var spans = new SessionSpans();
        spans.Started(S1, -1);
        Assert.Same(S1, spans.For(5));
        spans.Stopped();
        Assert.Null(spans.For(6));

        spans.Started(S2, 100);
        spans.Ended(-1); // no sample was flowing when it ended: none of its frames is still to come
        Assert.Null(spans.For(119));
        spans.Stopped();
        Assert.Null(spans.For(119));
    }

    [Fact]
    public async Task The_writer_tags_frames_read_after_the_stop_with_their_session_and_the_frames_after_its_end_with_none()
    {
        await using VictoriaMetricsServer server = await VictoriaMetricsServer.StartAsync();
        var simulated = new SimulatedSession();
        var spans = new SessionSpans();
        using Subscription<ActivationFrame> feed = simulated.Pipeline.Activation.Subscribe(capacity: 100_000);
        // The whole session happens before the writer reads a frame: 1 s before it, 2 s of it, 1 s after it.
        spans.Started(new HistorySession("S-2026-001", "P017"), firstSampleIndex: 1000);
        simulated.Run(seconds: 3);
        spans.Ended(endSampleIndex: 3000);
        spans.Stopped();
        simulated.Run(seconds: 1);
        List<ActivationFrame> published = simulated.TakePublished();

        HistoryOptions options = TestOptions.For(server.Url);
        await using var history = new HistoryService(options, spans, new CapturingLogger<HistoryService>());
        using var stop = new CancellationTokenSource();
        Task run = history.RunAsync(feed, stop.Token);
        await Eventually.TrueAsync(() => history.PointsWritten == published.Count * 8 && history.IsIdle, TimeSpan.FromSeconds(30), "all written");
        await stop.CancelAsync();
        await run;

        int inSession = published.Count(f => f.SampleIndex is >= 1000 and < 3000);
        Assert.Equal(100, inSession);
        List<Series> stored = [];
        for (DateTime deadline = DateTime.UtcNow.AddSeconds(30); DateTime.UtcNow < deadline; await Task.Delay(500))
        {
            stored = await server.ExportAsync("activation_rms_uv");
            if (stored.Sum(s => s.Values.Length) == published.Count * 8)
            {
                break;
            }
        }
        Assert.Equal(published.Count * 8, stored.Sum(s => s.Values.Length));
        Assert.Equal(inSession * 8, stored.Where(s => s.Labels["session"] == "S-2026-001").Sum(s => s.Values.Length));
        Assert.Equal((published.Count - inSession) * 8, stored.Where(s => s.Labels["session"] == "none").Sum(s => s.Values.Length));
    }
}
