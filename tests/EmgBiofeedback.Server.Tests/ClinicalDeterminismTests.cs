using EmgBiofeedback.Acquisition;
using EmgBiofeedback.Dsp;
using EmgBiofeedback.Pipeline;
using EmgBiofeedback.Recording;
using EmgBiofeedback.Sessions;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using SessionOptions = EmgBiofeedback.Server.SessionOptions;

namespace EmgBiofeedback.Server.Tests;

/// <summary>
/// One processing step for live and offline: a session run live on the simulated board (guided rest and MVC
/// calibration, a reused calibration, targets, a protocol, a marker, all at exact samples) gives, frame for frame, the
/// %MVC and target state an offline analysis of its recording computes, and the same summary, to the bit.
/// </summary>
[Collection(NotInParallel.Name)]
public sealed class ClinicalDeterminismTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("emg-clinical-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task A_live_session_s_clinical_values_and_summary_equal_the_offline_analysis_of_its_recording_bit_for_bit()
    {
        var sim = new SimulatorOptions { Channels = 4 };
        var chainOptions = new SignalChainOptions();
        var sessionOptions = new SessionOptions
        {
            Calibration = new CalibrationSettings { SignalCheckSeconds = 1, RestSeconds = 2, Contractions = 2, ContractionSeconds = 1, RestBetweenSeconds = 1 },
        };
        var pipeline = new LivePipeline(chainOptions, [], TimeProvider.System);
        var recorder = new Recorder(new RecorderOptions { Station = "bench-1" }, new RecordingsFolder(_folder), TimeProvider.System);
        var store = new CalibrationStore(_folder);
        store.Save("bench-1", "P-DET1", new Dictionary<string, MuscleCalibration>
        {
            ["SCM R"] = new(4, 60, "test", new DateTimeOffset(2026, 11, 30, 10, 0, 0, TimeSpan.Zero)),
            ["UT L"] = new(4, 40, "test", new DateTimeOffset(2026, 11, 30, 10, 0, 0, TimeSpan.Zero)),
            ["UT R"] = new(4, 45, "test", new DateTimeOffset(2026, 11, 30, 10, 0, 0, TimeSpan.Zero)),
        });
        var sessions = new SessionManager(pipeline, TimeProvider.System, [], Options.Create(sessionOptions), recorder, store,
            Options.Create(new RecorderOptions { Station = "bench-1" }), NullLogger<SessionManager>.Instance);
        using Subscription<ActivationFrame> frames = pipeline.Activation.Subscribe(1 << 16);
        var loop = new AcquisitionLoop(new SimulatedBoardLink(sim, 200, TimeProvider.System), [pipeline, recorder], new AcquisitionOptions(), TimeProvider.System, NullLogger<AcquisitionLoop>.Instance);
        using var stop = new CancellationTokenSource();
        Task run = loop.RunAsync(stop.Token);
        StoppedSession stopped;
        try
        {
            await Eventually.TrueAsync(() => pipeline.Stream is not null && pipeline.Latest is not null, TimeSpan.FromSeconds(20), "the simulated board's first frames");
            sessions.Start("P-DET1", Montage.Default, 0, new Dictionary<string, double> { ["tsui"] = 9 });
            await Eventually.TrueAsync(() => pipeline.Clinical is not null, TimeSpan.FromSeconds(5), "the clinical layer");
            CalibrationStepResult check = await sessions.CalibrateAsync(CalibrationStep.SignalCheck, null, CancellationToken.None);
            CalibrationStepResult rest = await sessions.CalibrateAsync(CalibrationStep.Rest, null, CancellationToken.None);
            CalibrationStepResult mvc = await sessions.CalibrateAsync(CalibrationStep.Mvc, "SCM L", CancellationToken.None);
            Assert.Equal(CalibrationStep.Rest, rest.Step);
            Assert.Equal(CalibrationStep.Mvc, mvc.Step);
            _ = check;
            sessions.ReuseCalibration();
            sessions.SetTarget("SCM R", TargetSpec.Below(20));
            sessions.SetTarget("UT L", new TargetSpec(TargetDirection.Below, 15, 12, 0.1, "SCM R", 10));
            sessions.StartProtocol(new ProtocolTemplate("det", 1, 2, 1, 1, 1));
            await Task.Delay(1500);
            sessions.AddMarker("sensory trick");
            await Eventually.TrueAsync(() => sessions.Running is null, TimeSpan.FromSeconds(20), "the protocol's end");
            await Task.Delay(300);
            stopped = sessions.Stop(0);
        }
        finally
        {
            await stop.CancelAsync();
            await run;
        }

        Assert.NotNull(stopped.Summary);
        Assert.NotNull(stopped.RecordingPath);
        Assert.True(File.Exists(stopped.SummaryPath), "the summary is written beside the recording");

        // Offline: the recording alone.
        RecordingAnalysis.Result offline = RecordingAnalysis.Analyse(stopped.RecordingPath!, chainOptions, sessionOptions.Calibration);
        Assert.Empty(offline.Warnings);

        // Frame for frame: the live frames of the session against the offline frames.
        var live = new List<ActivationFrame>();
        while (frames.Reader.TryRead(out ActivationFrame? f))
        {
            live.Add(f);
        }
        FrameStore store2 = offline.Session.Frames;
        Assert.True(live.Any(f => f.Muscles.Any(m => m.MvcPercent is not null)),
            $"{live.Count} live frames, none calibrated; offline: {store2.Count} frames, calibrated {string.Join(", ", offline.Summary.Calibration.Keys)}; dropped {pipeline.Activation.Dropped}");
        long origin = live.First(f => f.Muscles.Any(m => m.MvcPercent is not null)).SampleIndex - FirstCalibrated(store2);
        var session = live.Where(f => f.SampleIndex >= origin && f.SampleIndex - origin <= store2.SampleIndex(store2.Count - 1)).ToList();
        Assert.True(session.Count > 200, $"{session.Count} session frames");
        Assert.Equal(store2.Count, session.Count);
        int compared = 0;
        for (int i = 0; i < session.Count; i++)
        {
            Assert.Equal(store2.SampleIndex(i), session[i].SampleIndex - origin);
            for (int c = 0; c < 4; c++)
            {
                double pct = store2.Percent(c)[i];
                MuscleActivation m = session[i].Muscles[c];
                Assert.Equal(double.IsFinite(pct) ? (float)pct : null, m.MvcPercent);
                Assert.Equal(store2.States(c)[i], m.Target);
                compared += m.MvcPercent is not null ? 1 : 0;
            }
        }
        Assert.True(compared > 500, $"{compared} calibrated values compared");
        Assert.Contains(session, f => f.Muscles.Any(m => m.Target != TargetState.Unspecified));
        // The frames carry the target the state refers to, for displays to draw the zone.
        Assert.Contains(session, f => f.Muscles[1].TargetSpec is { Direction: TargetDirection.Below, Level: 20, Release: 18 });
        Assert.All(session.Where(f => f.Muscles[1].Target != TargetState.Unspecified), f => Assert.NotNull(f.Muscles[1].TargetSpec));

        // The summary: identical text.
        Assert.Equal(SummaryJson.Write(stopped.Summary!), SummaryJson.Write(offline.Summary));
        Assert.Equal(2, offline.Summary.Trials.Count);
        Assert.Single(offline.Summary.Markers);
        Assert.Equal(9, offline.Summary.Outcomes["tsui"]);
        Assert.Equal(File.ReadAllText(stopped.SummaryPath!), SummaryJson.Write(offline.Summary));
    }

    private static long FirstCalibrated(FrameStore frames)
    {
        for (int i = 0; i < frames.Count; i++)
        {
            for (int c = 0; c < frames.Channels; c++)
            {
                if (double.IsFinite(frames.Percent(c)[i]))
                {
                    return frames.SampleIndex(i);
                }
            }
        }
        throw new InvalidOperationException("No calibrated frame offline.");
    }
}

/// <summary>Tests that run a board in real time in-process: alone, so they neither starve nor are starved by the others.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class NotInParallel
{
    public const string Name = "not in parallel";
}
