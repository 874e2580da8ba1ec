using EmgBiofeedback.Contracts.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace EmgBiofeedback.Server.Tests;

/// <summary>The service with history on, writing to a real server that speaks InfluxDB's v2 write API.</summary>
public class HistoryEndToEndTests
{
    [Fact]
    public async Task A_30_s_session_is_in_the_history_server_with_the_values_the_gRPC_stream_carried()
    {
        await using VictoriaMetricsServer history = await VictoriaMetricsServer.StartAsync();
        string spool = Directory.CreateTempSubdirectory("emg-spool-").FullName;
        var streamed = new List<ActivationFrame>();
        await using (ServerProcess server = ServerProcess.StartListening(
            "--History:Enabled=true", $"--History:Url={history.Url}", "--History:Org=clinic", "--History:Bucket=emg",
            "--History:Token=history-token-0123456789", "--Recording:Station=station-7", $"--History:SpoolDirectory={spool}",
            "--History:FlushInterval=00:00:00.500"))
        {
            using GrpcChannel channel = GrpcChannel.ForAddress(server.Address);
            var sessions = new EmgBiofeedback.Contracts.V1.Sessions.SessionsClient(channel);
            var live = new Live.LiveClient(channel);
            using (AsyncServerStreamingCall<ActivationFrame> call = live.StreamActivation(new StreamActivationRequest()))
            {
                Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
                await sessions.StartSessionAsync(new StartSessionRequest { PatientCode = "P-0007" });
                DateTime end = DateTime.UtcNow.AddSeconds(30);
                while (DateTime.UtcNow < end && await call.ResponseStream.MoveNext(CancellationToken.None))
                {
                    streamed.Add(call.ResponseStream.Current);
                }
                await sessions.StopSessionAsync(new StopSessionRequest());
            }
            await Eventually.TrueAsync(() => server.Output.Any(l => l.Contains("ok |", StringComparison.Ordinal)), TimeSpan.FromSeconds(10), "a status line");
            await Task.Delay(TimeSpan.FromSeconds(2)); // two flush intervals: the writer delivers what it holds
        }

        List<Series> stored = (await history.ExportAsync("activation_rms_uv")).Where(s => s.Labels["patient"] == "P-0007").ToList();

        // The session's summary is in history too: one point per muscle of the montage and one for the whole session.
        List<Series> summaries = (await history.ExportAsync("session_summary_duration_s")).Where(s => s.Labels["patient"] == "P-0007").ToList();
        Assert.Equal(9, summaries.Count); // 8 muscles + "all"
        Assert.Contains(summaries, s => s.Labels["muscle"] == "all" && s.Labels["side"] == "none");
        Assert.All(summaries, s => Assert.InRange(Assert.Single(s.Values), 25, 40)); // the 30 s session
        Assert.Equal(8, stored.Count); // one series per muscle
        Assert.All(stored, s => Assert.Equal("station-7", s.Labels["station"]));
        Series scmLeft = stored.Single(s => s.Labels["muscle"] == "SCM" && s.Labels["side"] == "left");
        Assert.InRange(scmLeft.Values.Length, streamed.Count - 100, streamed.Count + 100); // the session, give or take its edges
        // The history holds the session's frames in order: find the streamed ones in it, frame for frame.
        float first = streamed[^1000].Muscles[0].RmsMicrovolts;
        int at = Array.FindIndex(scmLeft.Values, v => (float)v == first); // written in the shortest form that round-trips a float
        Assert.True(at >= 0, "a streamed frame is missing from the history");
        for (int i = 0; i < 1000; i++)
        {
            ActivationFrame frame = streamed[streamed.Count - 1000 + i];
            foreach (MuscleActivation m in frame.Muscles)
            {
                (string muscle, string side) = (m.Label.Split(' ')[0], m.Label.EndsWith(" L", StringComparison.Ordinal) ? "left" : "right");
                Series series = stored.Single(s => s.Labels["muscle"] == muscle && s.Labels["side"] == side);
                Assert.Equal(m.RmsMicrovolts, (float)series.Values[at + i]); // frame for frame: none lost, none merged
            }
        }
    }
}
