using System.Text;
using System.Threading.Channels;
using EmgBiofeedback.Pipeline;
using Microsoft.Extensions.Logging;

namespace EmgBiofeedback.History.Tests;

/// <summary>Nothing the writer accepted lives only in memory: a kill at any moment leaves it all in the spool.</summary>
public sealed class SpoolFirstTests
{
    private static readonly HistorySession Session = new("S-2026-001", "P017");

    [Fact]
    public async Task A_writer_killed_during_an_outage_loses_nothing_and_its_successor_delivers_it_all()
    {
        await using VictoriaMetricsServer server = await VictoriaMetricsServer.StartAsync();
        var session = new SimulatedSession();
        HistoryOptions options = TestOptions.For(server.Url);
        options.FlushInterval = TimeSpan.FromMinutes(5); // the batch being filled is still open when the writer dies
        var first = new HistoryService(options, new FixedSessionProvider(Session), new CapturingLogger<HistoryService>());
        using Subscription<ActivationFrame> feed = session.Pipeline.Activation.Subscribe(capacity: 100_000);
        Task run = first.RunAsync(feed, CancellationToken.None);

        session.Run(seconds: 4); // 200 frames, 1,600 points: 4 full batches of 400
        await Eventually.TrueAsync(() => first.PointsWritten == 1600 && first.IsIdle, TimeSpan.FromSeconds(30), "first 4 s written");

        await server.StopAsync();
        session.Run(seconds: 6.5); // 325 frames, 2,600 points: 6 full batches and 200 points being filled
        await Eventually.TrueAsync(() => feed.Reader.Count == 0 && first.State == HistoryState.Retrying, TimeSpan.FromSeconds(30),
            "frames taken in and the outage noticed");
        first.Kill(); // as SIGKILL: no flush, no spill, no shutdown
        await run;
        await first.DisposeAsync();

        await server.StartAgainAsync();
        var log = new CapturingLogger<HistoryService>();
        await using var second = new HistoryService(options, new FixedSessionProvider(Session), log);
        using var stop = new CancellationTokenSource();
        Task rerun = second.RunAsync(Channel.CreateUnbounded<ActivationFrame>().Reader, stop.Token);
        await Eventually.TrueAsync(() => second.PointsWritten == 2600 && second.IsIdle, TimeSpan.FromSeconds(60),
            "the successor delivers all 2,600 points accepted during the outage");
        await stop.CancelAsync();
        await rerun;

        await HistoryServerTests.AssertStoredAsync(server, session.TakePublished());
        Assert.Equal(200, second.Status.PointsRecovered);
        Assert.Contains(log.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("200 points in 1 batches"));
    }

    [Fact]
    public async Task An_unwritable_spool_is_reported_and_the_live_points_still_reach_the_server()
    {
        await using VictoriaMetricsServer server = await VictoriaMetricsServer.StartAsync();
        var session = new SimulatedSession();
        HistoryOptions options = TestOptions.For(server.Url);
        var log = new CapturingLogger<HistoryService>();
        await using var history = new HistoryService(options, new FixedSessionProvider(Session), log);
        // The spool's folder is replaced by a file: every write into it fails (as on a full or read-only disk).
        Directory.Delete(options.SpoolDirectory, recursive: true);
        await File.WriteAllTextAsync(options.SpoolDirectory, "");
        using Subscription<ActivationFrame> feed = session.Pipeline.Activation.Subscribe(capacity: 100_000);
        using var stop = new CancellationTokenSource();
        Task run = history.RunAsync(feed, stop.Token);

        session.Run(seconds: 10);
        await Eventually.TrueAsync(() => history.PointsWritten == 500 * 8, TimeSpan.FromSeconds(30), "the session delivered from memory");
        await stop.CancelAsync();
        await run;

        Assert.Single(log.Entries, e => e.Level == LogLevel.Critical && e.Message.Contains("cannot be written"));
        Assert.Contains("cannot be written", history.Status.LastError);
        Assert.Equal(0, history.PointsDropped);
        File.Delete(options.SpoolDirectory);
    }

    [Fact]
    public void A_batch_file_cut_mid_line_by_a_kill_is_recovered_up_to_its_last_complete_point()
    {
        string dir = Path.Combine(Path.GetTempPath(), "emg-spool-" + Guid.NewGuid().ToString("N"));
        var spool = new HistorySpool(dir, 1 << 20, SpoolFsyncPolicy.Never);
        using (OpenBatch open = spool.Begin(7))
        {
            open.Append(Encoding.UTF8.GetBytes("activation,muscle=SCM rms_uv=1 1\nactivation,muscle=SCM rms_uv=2 2\nactivation,mus"));
        } // the process dies here

        var restarted = new HistorySpool(dir, 1 << 20, SpoolFsyncPolicy.Never);
        Assert.Equal(2, restarted.RecoveredPoints);
        Assert.True(restarted.TryPeekOldest(out long sequence));
        Assert.Equal(7, sequence);
        using var batch = new LineBuffer();
        restarted.Read(7, batch);
        Assert.Equal("activation,muscle=SCM rms_uv=1 1\nactivation,muscle=SCM rms_uv=2 2\n", Encoding.UTF8.GetString(batch.Written));
        Assert.Equal(8L, new HistorySpool(dir, 1 << 20, SpoolFsyncPolicy.Never).LastSequence + 1);
        Directory.Delete(dir, recursive: true);
    }
}
