using EmgBiofeedback.Contracts.V1;
using EmgBiofeedback.Dsp;
using EmgBiofeedback.Recording;
using Grpc.Core;
using Grpc.Net.Client;
using V1 = EmgBiofeedback.Contracts.V1;

namespace EmgBiofeedback.Server.Tests;

/// <summary>
/// The scripted session with ground truth (<see cref="ScriptedSession"/>) replayed through the live service, the
/// clinician's part driven over gRPC at the script's moments (rest and MVC calibration, targets, a protocol, the
/// sensory trick): the live summary agrees with the script, and equals, to the bit, the offline summary of the recording
/// the service made of the session (what `emg summary` computes).
/// </summary>
[Collection(NotInParallel.Name)]
public sealed class ScriptedReplayTests : IDisposable
{
    private const double Speed = 4;
    private readonly string _folder = Directory.CreateTempSubdirectory("emg-scripted-replay-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task The_scripted_session_replayed_with_the_clinician_s_steps_over_gRPC_gives_the_script_and_the_offline_summary_of_its_recording()
    {
        (string csv, string tsv) = ScriptedSession.Write(_folder);
        Importers.Import(csv, Path.Combine(_folder, "scripted.bdf"),
            new ImportScaling(ScriptedSession.ReferenceMillivolts, ScriptedSession.Gain, ScriptedSession.Bits), events: tsv);
        File.Delete(csv);

        await using ServerProcess server = ServerProcess.StartListening($"--Recording:Folder={_folder}", "--Recording:Station=bench-3");
        using GrpcChannel channel = GrpcChannel.ForAddress(server.Address);
        var live = new Live.LiveClient(channel);
        var sessions = new EmgBiofeedback.Contracts.V1.Sessions.SessionsClient(channel);
        var replays = new Replays.ReplaysClient(channel);
        var (preSeconds, trials, workSeconds, restSeconds, postSeconds) = ScriptedSession.Protocol;
        await sessions.SaveProtocolAsync(new ProtocolTemplate
        {
            Name = "scripted", PreBaselineSeconds = preSeconds, Trials = (uint)trials, WorkSeconds = workSeconds, RestSeconds = restSeconds, PostBaselineSeconds = postSeconds,
        });

        // The replay's time: the first frame from the replay ends its chain's first output period (20 samples at 50 Hz).
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        using AsyncServerStreamingCall<LiveMessage> frames = live.StreamLive(new StreamActivationRequest(), cancellationToken: deadline.Token);
        await replays.StartReplayAsync(new StartReplayRequest { File = "scripted.bdf", Speed = Speed });
        ActivationFrame? first = null;
        while (first is not { SourceKind: SourceKind.Replay })
        {
            Assert.True(await frames.ResponseStream.MoveNext(deadline.Token));
            first = frames.ResponseStream.Current.Activation;
        }
        long fileStart = first.SampleIndex - (ScriptedSession.Rate / 50 - 1);
        double Script(long sampleIndex) => (sampleIndex - fileStart) / (double)ScriptedSession.Rate;
        double now = 0;
        // Where the service says the protocol started and the marker was placed, in the script's seconds.
        double? protocolStart = null, markerAt = null;
        var reader = Task.Run(async () =>
        {
            while (await frames.ResponseStream.MoveNext(deadline.Token))
            {
                LiveMessage message = frames.ResponseStream.Current;
                if (message.Activation is { } frame)
                {
                    Volatile.Write(ref now, Script(frame.SampleIndex));
                }
                else if (message.Event is { Kind: EventKind.ProtocolPhase, Phase: Phase.BaselinePre } phase)
                {
                    protocolStart ??= Script(phase.SampleIndex);
                }
                else if (message.Event is { Kind: EventKind.Marker } marker)
                {
                    markerAt ??= Script(marker.SampleIndex);
                }
            }
        });
        async Task At(double seconds)
        {
            while (Volatile.Read(ref now) < seconds)
            {
                await Task.Delay(2);
            }
        }

        V1.Session session = await sessions.StartSessionAsync(new StartSessionRequest { PatientCode = "P-SCRIPT" });
        Assert.Equal(ScriptedSession.Labels, session.Montage.Select(m => $"{m.Muscle} {(m.Side == Side.Left ? "L" : "R")}"));
        await At(ScriptedSession.RestAt);
        CalibrationResult rest = await sessions.CalibrateAsync(new CalibrateRequest { Step = CalibrationStep.Rest });
        Assert.True(rest.Accepted, string.Join("; ", rest.Refusals.Select(r => $"{r.Label}: {r.Reason}")));
        for (int m = 0; m < 4; m++)
        {
            await At(ScriptedSession.MvcAt(m));
            CalibrationResult mvc = await sessions.CalibrateAsync(new CalibrateRequest { Step = CalibrationStep.Mvc, Label = ScriptedSession.Labels[m] });
            Assert.True(mvc.Accepted, string.Join("; ", mvc.Refusals.Select(r => $"{r.Label}: {r.Reason}")));
        }
        await At(ScriptedSession.TargetsAt);
        foreach (string target in ScriptedSession.Targets)
        {
            string[] w = target.Split(' ');
            await sessions.SetTargetAsync(new SetTargetRequest
            {
                Label = $"{w[0]} {w[1]}",
                Direction = w[2] == "below" ? TargetDirection.Below : TargetDirection.Above,
                LevelPct = double.Parse(w[3], System.Globalization.CultureInfo.InvariantCulture),
            });
        }
        await sessions.StartProtocolAsync(new StartProtocolRequest { Name = "scripted" });
        await At(ScriptedSession.MarkerSeconds);
        await sessions.AddMarkerAsync(new AddMarkerRequest { Label = "sensory trick" });
        await At(ScriptedSession.Seconds - 1);
        V1.SessionSummary stopped = await sessions.StopSessionAsync(new StopSessionRequest());
        await deadline.CancelAsync();
        await Assert.ThrowsAnyAsync<Exception>(() => reader);

        // The live summary agrees with the script.
        using (var recorded = new RecordingFile(stopped.RecordingPath))
        {
            // The clinician's calls land after the script's moments (a few hundred ms of recording, more on a busy
            // machine: the replay runs at 4x), and the session starts after the replay: the periods and the marker's
            // windows are where the service says the protocol started and the marker was placed, and %MVC, asymmetry
            // and the marker's effect must be the script's over them. Time in target and the marker's time depend on
            // the lag, so they are checked where the events are exact (the import test).
            Assert.True(protocolStart is { } p && p >= ScriptedSession.TargetsAt && p < ScriptedSession.TargetsAt + 5, $"protocol started at {protocolStart} s of the script");
            Assert.True(markerAt is { } k && k >= ScriptedSession.MarkerSeconds && k < ScriptedSession.MarkerSeconds + 5, $"marker at {markerAt} s of the script");
            List<string> problems = ScriptedSession.Check(stopped.SummaryJson, protocolStart!.Value, markerAt!.Value)
                .Where(p => !p.Contains("time in target", StringComparison.Ordinal) && !p.StartsWith("marker time", StringComparison.Ordinal)).ToList();
            Assert.True(problems.Count == 0, string.Join("\n", problems) + "\nannotations: " + string.Join("; ", recorded.Annotations.Select(a => $"{a.OnsetSeconds:0.###}+{a.DurationSeconds:0.###} {a.Text}")));
        }
        // And equals the offline analysis of the recording the service made of the session.
        Assert.True(File.Exists(stopped.RecordingPath), stopped.RecordingPath);
        RecordingAnalysis.Result offline = RecordingAnalysis.Analyse(stopped.RecordingPath, new SignalChainOptions(), new EmgBiofeedback.Sessions.CalibrationSettings());
        Assert.Equal(stopped.SummaryJson, EmgBiofeedback.Sessions.SummaryJson.Write(offline.Summary));
        Assert.Equal(stopped.SummaryJson, File.ReadAllText(stopped.SummaryPath));
    }
}
