using System.Diagnostics;
using System.Threading.Channels;
using EmgBiofeedback.Acquisition;
using EmgBiofeedback.Dsp;
using EmgBiofeedback.Pipeline;
using EmgBiofeedback.Protocol;
using EmgBiofeedback.Recording;
using EmgBiofeedback.Sessions;

namespace EmgBiofeedback.History.Tests;

/// <summary><c>emg backfill</c> writes exactly the series and timestamps the live writer wrote for the same session.</summary>
public sealed class BackfillTests
{
    [Fact]
    public async Task Backfill_of_the_recording_fills_a_hole_in_the_live_history_on_the_same_series_and_timestamps()
    {
        await using VictoriaMetricsServer server = await VictoriaMetricsServer.StartAsync();
        string folder = Directory.CreateTempSubdirectory("emg-backfill-").FullName;
        var board = new SimulatedBoard(new SimulatorOptions(), sensorGain: 200);
        string[] labels = new SimulatorOptions().EffectiveMuscles(8).Select(m => m.Label).ToArray();
        var pipeline = new LivePipeline(new SignalChainOptions(), labels, TimeProvider.System);
        var recorder = new Recorder(new RecorderOptions { Folder = folder, Station = "bay 3", SensorGain = 200 }, new RecordingsFolder(folder), TimeProvider.System);
        BoardInfo info = board.Describe();
        // As the acquisition loop announces a connection: the source's kind, which frames and the recording carry.
        var connected = new AcquisitionEvent(StationEventKind.Connected, DateTimeOffset.UtcNow, "Connected to the simulated board") { Source = SourceKind.SimulatedBoard };
        pipeline.OnEvent(connected);
        recorder.OnEvent(connected);
        pipeline.OnBoard(info);
        recorder.OnBoard(info);
        using Subscription<ActivationFrame> published = pipeline.Activation.Subscribe(capacity: 100_000);
        var counts = new ushort[8];
        long index = 0;
        void Acquire(int samples) // as the acquisition loop feeds its sinks: pipeline first, then the recorder
        {
            for (long end = index + samples; index < end; index++)
            {
                board.TrySampleNext(counts, out _);
                pipeline.OnSamples(index, counts);
                recorder.OnSamples(index, counts);
            }
        }

        // The session starts 1,007 samples in, off the signal chain's 20-sample output grid.
        Acquire(1007);
        const string SessionId = "20261202-043000-P017";
        recorder.Start(new RecordingRequest("bay 3", SessionId, "P017", pipeline.Labels));
        SessionTimeline timeline = SessionTimeline.ForOpenedRecording(recorder.CurrentStart!.Value, pipeline.CurrentSampleIndex, recorder.Position,
            info.SampleRateHz, pipeline.OutputRateHz);
        var session = new HistorySession(SessionId, "P017", "bay 3", timeline); // as HistoryWorker builds it
        Acquire(30_000);
        string recording = recorder.Stop()!;

        // Live: the writer misses 5 s of the session (say the spool overflowed), the hole to fill.
        List<ActivationFrame> frames = [];
        while (published.Reader.TryRead(out ActivationFrame? f))
        {
            frames.Add(f);
        }
        List<ActivationFrame> inSession = frames.Where(f => f.SampleIndex >= 1007).ToList();
        List<ActivationFrame> live = inSession.Where(f => f.SampleIndex is < 11_007 or >= 16_007).ToList();
        Assert.Equal(1500, inSession.Count);
        Assert.Equal(1250, live.Count);
        HistoryOptions options = TestOptions.For(server.Url);
        var feed = Channel.CreateUnbounded<ActivationFrame>();
        await using (var history = new HistoryService(options, new FixedSessionProvider(session), new CapturingLogger<HistoryService>()))
        {
            using var stop = new CancellationTokenSource();
            Task run = history.RunAsync(feed.Reader, stop.Token);
            live.ForEach(f => feed.Writer.TryWrite(f));
            await Eventually.TrueAsync(() => history.PointsWritten == 1250 * 8 && history.IsIdle, TimeSpan.FromSeconds(30), "the live session written");
            await stop.CancelAsync();
            await run;
        }

        string output = await RunEmgAsync("backfill", recording, "--url", server.Url, "--org", "clinic", "--bucket", "emg");
        Assert.Contains("Wrote 12000 points (1500 activation frames)", output);

        long[] slotsMs = inSession.Select(f => timeline.ToUnixNs(f.SampleIndex) / 1_000_000).ToArray();
        List<Series> stored = await server.ExportAsync("activation_rms_uv");
        Assert.Equal(8, stored.Count); // the same 8 series, none beside them
        foreach (string label in labels)
        {
            (string muscle, Side side) = ChannelLabels.Parse(label);
            Series series = Assert.Single(stored, s => s.Labels["muscle"] == muscle && s.Labels["side"] == ChannelLabels.TagValue(side));
            Assert.Equal(
                new Dictionary<string, string> { ["__name__"] = "activation_rms_uv", ["muscle"] = muscle, ["side"] = ChannelLabels.TagValue(side),
                    ["session"] = SessionId, ["patient"] = "P017", ["station"] = "bay_3", ["source"] = "simulated" },
                series.Labels);
            // Every output period once: the hole is filled and back-fill's points fall on the live ones' timestamps
            // (victoria-metrics keeps both samples of a timestamp, which InfluxDB overwrites: 1,250 + 1,500 samples).
            Assert.Equal(slotsMs, series.TimestampsMs.Distinct().ToArray());
            Assert.Equal(1250 + 1500, series.TimestampsMs.Length);
        }
        Directory.Delete(folder, recursive: true);
    }

    [Fact]
    public void Tag_values_are_the_fields_the_recording_header_keeps()
    {
        var request = new RecordingRequest(" bay 3 ", "20261202-043000-a-very-long-code", "code with space", ["Semispinalis capitis L", "", "SCM R"]);
        BdfHeader header = RecordingLayout.BuildHeader(new BoardInfo(1, 1, 0, 0, 3, 1000, 10, 5000, false, 0, "sim"), request, new RecorderOptions(), new DateTime(2026, 12, 2, 4, 30, 0));
        string[] recording = header.RecordingId.Split(' ');
        Assert.Equal(recording[2], HistorySeries.RecordedField(request.Session));
        Assert.Equal(recording[4], HistorySeries.RecordedField(request.Station));
        Assert.Equal(header.PatientId.Split(' ')[0], HistorySeries.RecordedField(request.PatientCode));
        for (int c = 0; c < 3; c++)
        {
            Assert.Equal(RecordingLayout.DisplayLabel(header.Signals[c].Label.Trim()), ChannelLabels.Recorded(request.Labels[c], c));
        }
    }

    [Fact]
    public void The_session_timeline_stamps_each_output_period_with_its_last_sample_instant()
    {
        var start = new DateTimeOffset(2026, 12, 2, 5, 30, 0, TimeSpan.FromHours(1));
        SessionTimeline timeline = SessionTimeline.Create(start, firstSampleIndex: 1007, sampleRateHz: 1000, outputRateHz: 50);
        long t0 = SampleClock.ToUnixNs(start);
        Assert.Equal(t0 + 19_000_000, timeline.ToUnixNs(1007));
        Assert.Equal(t0 + 19_000_000, timeline.ToUnixNs(1026));
        Assert.Equal(t0 + 39_000_000, timeline.ToUnixNs(1027));
        Assert.Equal(t0 - 1_000_000, timeline.ToUnixNs(1006));
        Assert.Equal(t0 - 1_000_000, timeline.ToUnixNs(987));
        Assert.Equal(t0 - 21_000_000, timeline.ToUnixNs(986));
    }

    private static async Task<string> RunEmgAsync(params string[] args)
    {
        // The CLI built beside the tests, in the same configuration (bin/<configuration>/<tfm>/).
        var tfm = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        string dll = Path.Combine(RepositoryPaths.Root, "src", "EmgBiofeedback.Cli", "bin", tfm.Parent!.Name, tfm.Name, "emg.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(dll);
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["EMG_HISTORY_TOKEN"] = "test-token";
        using Process p = Process.Start(psi)!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await p.WaitForExitAsync(timeout.Token);
        string output = await stdout + await stderr;
        Assert.True(p.ExitCode == 0, $"emg {string.Join(' ', args)} exited {p.ExitCode}: {output}");
        return output;
    }
}
