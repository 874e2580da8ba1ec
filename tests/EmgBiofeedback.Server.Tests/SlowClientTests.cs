using System.Text.Json;
using EmgBiofeedback.Contracts.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace EmgBiofeedback.Server.Tests;

public class SlowClientTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private ServerProcess Server => fixture.Server;

    [Fact]
    public async Task A_client_that_stops_reading_loses_only_its_own_frames_is_told_how_many_and_server_memory_stays_bounded()
    {
        // The smallest HTTP/2 window a client may offer (64 KiB), so the stall reaches the server's queue
        // after a few seconds instead of minutes.
        using var handler = new SocketsHttpHandler { InitialHttp2StreamWindowSize = 65535 };
        using GrpcChannel channel = GrpcChannel.ForAddress(Server.Address, new GrpcChannelOptions { HttpHandler = handler });
        var live = new Live.LiveClient(channel);
        using AsyncServerStreamingCall<ActivationFrame> stalled = live.StreamActivation(new StreamActivationRequest());
        Assert.True(await stalled.ResponseStream.MoveNext(CancellationToken.None)); // subscribed; now it stops reading
        long memoryBefore = Server.ResidentBytes();

        JsonElement[] readers = await Task.WhenAll(
            PythonGrpcClient.RunAsync(Server.Target, "activation", "--seconds", "20"),
            PythonGrpcClient.RunAsync(Server.Target, "activation", "--seconds", "20"));
        long memoryAfter = Server.ResidentBytes();
        EmgBiofeedback.Contracts.V1.Status status = await live.GetStatusAsync(new GetStatusRequest());

        foreach (JsonElement reader in readers)
        {
            Assert.Equal(0, reader.GetProperty("jumps").GetInt32());
            Assert.Equal(0, reader.GetProperty("missed").GetInt32());
            Assert.InRange(reader.GetProperty("rate").GetDouble(), 47.5, 52.5);
        }
        Assert.True(status.Counters.DroppedSubscriberFrames > 0, "the stalled client's drops are counted");
        Assert.True(memoryAfter - memoryBefore < 50L << 20, $"server memory grew by {(memoryAfter - memoryBefore) >> 20} MiB");

        // When it reads again it drains what the network held, then learns how many frames it missed.
        uint missed = 0;
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (missed == 0 && await stalled.ResponseStream.MoveNext(deadline.Token))
        {
            missed = stalled.ResponseStream.Current.MissedBefore;
        }
        EmgBiofeedback.Contracts.V1.Status later = await live.GetStatusAsync(new GetStatusRequest());
        Assert.InRange(missed, 1u, (uint)later.Counters.DroppedSubscriberFrames);
    }
}
