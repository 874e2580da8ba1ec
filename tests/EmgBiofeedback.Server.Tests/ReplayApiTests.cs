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

    private static EmgBiofeedback.Contracts.V1.Status Status(Live.LiveClient live) => live.GetStatus(new GetStatusRequest());
}
