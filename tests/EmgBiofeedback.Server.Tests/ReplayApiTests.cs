using EmgBiofeedback.Contracts.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace EmgBiofeedback.Server.Tests;

/// <summary>Replays started, moved and stopped over gRPC, through the live pipeline of the real service.</summary>
public class ReplayApiTests
{
    [Fact]
    public async Task A_replay_started_over_gRPC_replaces_the_board_can_seek_and_stops_without_counting_losses()
    {
        string samples = Path.Combine(RepositoryPaths.Root, "samples");
        await using ServerProcess server = ServerProcess.StartListening($"--Recording:Folder={samples}");
        using GrpcChannel channel = GrpcChannel.ForAddress(server.Address);
        var replays = new Replays.ReplaysClient(channel);
        var live = new Live.LiveClient(channel);

        RpcException outside = await Assert.ThrowsAsync<RpcException>(() => replays.StartReplayAsync(new StartReplayRequest { File = "../../etc/passwd", Speed = 1 }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, outside.StatusCode);
        Assert.StartsWith("file:", outside.Status.Detail, StringComparison.Ordinal);
        RpcException notRunning = await Assert.ThrowsAsync<RpcException>(() => replays.StopReplayAsync(new StopReplayRequest()).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, notRunning.StatusCode);

        ReplayStatus started = await replays.StartReplayAsync(new StartReplayRequest { File = "biosppy-emg_1.bdf", Speed = 1 });
        Assert.True(started.Replaying);
        Assert.InRange(started.DurationSeconds, 63, 65);
        await Eventually.TrueAsync(() => Status(live).Board?.ChannelCount == 1, TimeSpan.FromSeconds(30), "the recording's single channel");
        Assert.Contains("replay of biosppy-emg_1.bdf", Status(live).Link, StringComparison.Ordinal);
        Assert.Equal(["EMG"], Status(live).Channels.Select(c => c.Label));

        RpcException pastTheEnd = await Assert.ThrowsAsync<RpcException>(() => replays.SeekReplayAsync(new SeekReplayRequest { Seconds = 500 }).ResponseAsync);
        Assert.StartsWith("seconds:", pastTheEnd.Status.Detail, StringComparison.Ordinal);
        ReplayStatus moved = await replays.SeekReplayAsync(new SeekReplayRequest { Seconds = 30 });
        Assert.Equal(30, moved.StartSeconds);
        await Eventually.TrueAsync(() => Status(live).Link.Contains("from 30 s", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "the replay from 30 s");
        long framesBefore = (long)Status(live).Counters.SampleFrames;
        await Eventually.TrueAsync(() => (long)Status(live).Counters.SampleFrames > framesBefore + 500, TimeSpan.FromSeconds(30), "samples from the new position");

        await replays.StopReplayAsync(new StopReplayRequest());
        await Eventually.TrueAsync(() => Status(live).Board?.ChannelCount == 8, TimeSpan.FromSeconds(30), "the simulated board again");

        EmgBiofeedback.Contracts.V1.Status status = Status(live);
        Assert.Contains("simulated board", status.Link, StringComparison.Ordinal);
        Assert.Equal("SCM L", status.Channels[0].Label);
        Assert.Equal((0ul, 0ul), (status.Counters.LostFrames, status.Counters.Gaps)); // switching sources is not a loss
    }

    [Fact]
    public async Task Frames_computed_from_a_replay_say_so_and_the_board_frames_before_it_keep_their_kind()
    {
        string samples = Path.Combine(RepositoryPaths.Root, "samples");
        await using ServerProcess server = ServerProcess.StartListening($"--Recording:Folder={samples}");
        using GrpcChannel channel = GrpcChannel.ForAddress(server.Address);
        var replays = new Replays.ReplaysClient(channel);
        var live = new Live.LiveClient(channel);
        using AsyncServerStreamingCall<ActivationFrame> call = live.StreamActivation(new StreamActivationRequest());
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(SourceKind.SimulatedBoard, call.ResponseStream.Current.SourceKind);

        await replays.StartReplayAsync(new StartReplayRequest { File = "biosppy-emg_1.bdf", Speed = 1 });
        var kinds = new List<SourceKind>();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (kinds.Count(k => k == SourceKind.Replay) < 10 && await call.ResponseStream.MoveNext(deadline.Token))
        {
            kinds.Add(call.ResponseStream.Current.SourceKind);
        }

        // Board frames, then replay frames: never a replayed frame labelled as the board's, nor the reverse.
        int firstReplay = kinds.IndexOf(SourceKind.Replay);
        Assert.All(kinds.Take(firstReplay), k => Assert.Equal(SourceKind.SimulatedBoard, k));
        Assert.All(kinds.Skip(firstReplay), k => Assert.Equal(SourceKind.Replay, k));
        Assert.Equal(SourceKind.Replay, Status(live).SourceKind);
        server.WaitForLine(l => l.Contains("| REPLAY | replay of biosppy-emg_1.bdf", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "a status line naming the source");

        await replays.StopReplayAsync(new StopReplayRequest());
        Assert.Equal(SourceKind.SimulatedBoard, Status(live).SourceKind);
    }

    [Fact]
    public async Task Replay_errors_never_reveal_where_the_server_keeps_its_files()
    {
        DirectoryInfo folder = Directory.CreateTempSubdirectory("emg-recordings-");
        try
        {
            File.CreateSymbolicLink(Path.Combine(folder.FullName, "outside.bdf"), "/etc/hostname");
            await using ServerProcess server = ServerProcess.StartListening($"--Recording:Folder={folder.FullName}");
            using GrpcChannel channel = GrpcChannel.ForAddress(server.Address);
            var replays = new Replays.ReplaysClient(channel);

            foreach (string file in new[] { "missing.bdf", "outside.bdf", "../elsewhere.bdf", "/etc/passwd" })
            {
                RpcException e = await Assert.ThrowsAsync<RpcException>(() => replays.StartReplayAsync(new StartReplayRequest { File = file, Speed = 1 }).ResponseAsync);
                Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
                Assert.StartsWith("file:", e.Status.Detail, StringComparison.Ordinal);
                Assert.DoesNotContain(folder.FullName, e.Status.Detail, StringComparison.Ordinal);
                Assert.DoesNotContain("/etc/", e.Status.Detail, StringComparison.Ordinal);
                Assert.DoesNotContain("/tmp", e.Status.Detail, StringComparison.Ordinal);
            }
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private static EmgBiofeedback.Contracts.V1.Status Status(Live.LiveClient live) => live.GetStatus(new GetStatusRequest());
}
