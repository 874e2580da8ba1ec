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
        // The status says what the loop reads: the board once it has connected to it again.
        await Eventually.TrueAsync(() => Status(live).SourceKind == SourceKind.SimulatedBoard, TimeSpan.FromSeconds(30), "the simulated board again");
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

    [Fact]
    public async Task A_recording_the_station_cannot_replay_is_refused_with_a_clear_error_and_an_event_and_the_station_goes_on()
    {
        DirectoryInfo folder = Directory.CreateTempSubdirectory("emg-recordings-");
        try
        {
            WriteEdf(Path.Combine(folder.FullName, "slow.edf"), samplesPerSecond: 100, seconds: 5);
            using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", [Path.Combine(folder.FullName, "pipe.bdf")])!)
            {
                await mkfifo.WaitForExitAsync();
                Assert.Equal(0, mkfifo.ExitCode);
            }
            await using ServerProcess server = ServerProcess.StartListening($"--Recording:Folder={folder.FullName}");
            using GrpcChannel channel = GrpcChannel.ForAddress(server.Address);
            var replays = new Replays.ReplaysClient(channel);
            var live = new Live.LiveClient(channel);
            using AsyncServerStreamingCall<Event> events = live.StreamEvents(new StreamEventsRequest());
            await Eventually.TrueAsync(() => Status(live).Board?.ChannelCount == 8, TimeSpan.FromSeconds(30), "the simulated board");

            RpcException slow = await Assert.ThrowsAsync<RpcException>(() => replays.StartReplayAsync(new StartReplayRequest { File = "slow.edf", Speed = 1 }).ResponseAsync);
            RpcException pipe = await Assert.ThrowsAsync<RpcException>(() => replays.StartReplayAsync(new StartReplayRequest { File = "pipe.bdf", Speed = 1 }).ResponseAsync)
                .WaitAsync(TimeSpan.FromSeconds(20)); // a FIFO is refused, not opened (opening one waits for a writer)

            Assert.Equal(StatusCode.InvalidArgument, slow.StatusCode);
            Assert.StartsWith("file: slow.edf cannot be replayed:", slow.Status.Detail, StringComparison.Ordinal);
            Assert.True(slow.Status.Detail.Contains("100 Hz", StringComparison.Ordinal), slow.Status.Detail); // the rate the chain cannot filter
            Assert.Equal(StatusCode.InvalidArgument, pipe.StatusCode);
            Assert.Contains("not a regular file", pipe.Status.Detail, StringComparison.Ordinal);

            var refused = new List<Event>();
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            while (refused.Count < 2 && await events.ResponseStream.MoveNext(deadline.Token))
            {
                if (events.ResponseStream.Current.Kind == EventKind.SourceRefused)
                {
                    refused.Add(events.ResponseStream.Current);
                }
            }
            Assert.Contains(refused, e => e.Message.Contains("slow.edf", StringComparison.Ordinal));

            // The station goes on with its board: still running, still the simulated board, frames still flowing.
            ulong before = Status(live).Counters.SampleFrames;
            await Eventually.TrueAsync(() => Status(live).Counters.SampleFrames > before + 500, TimeSpan.FromSeconds(30), "frames from the board after the refusals");
            Assert.Contains("simulated board", Status(live).Link, StringComparison.Ordinal);
            Assert.False(server.HasExited);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Replays_started_and_stopped_as_fast_as_a_client_can_never_stop_the_station()
    {
        // Before: a switch disposed the connection the acquisition loop was reading; at speed 0 the decoder then walked
        // returned buffers, and the worker died (exit code 1) within about 20 cycles.
        string samples = Path.Combine(RepositoryPaths.Root, "samples");
        await using ServerProcess server = ServerProcess.StartListening($"--Recording:Folder={samples}");
        using GrpcChannel channel = GrpcChannel.ForAddress(server.Address);
        var replays = new Replays.ReplaysClient(channel);
        var live = new Live.LiveClient(channel);

        for (int i = 0; i < 60; i++)
        {
            await replays.StartReplayAsync(new StartReplayRequest { File = i % 2 == 0 ? "biosppy-emg.bdf" : "biosppy-emg_1.bdf", Speed = 0 });
            if (i % 3 == 0)
            {
                await replays.StopReplayAsync(new StopReplayRequest());
            }
        }
        await replays.StopReplayAsync(new StopReplayRequest());
        RpcException nul = await Assert.ThrowsAsync<RpcException>(() => replays.StartReplayAsync(new StartReplayRequest { File = "biosppy-emg.bdf\0x", Speed = 1 }).ResponseAsync);
        RpcException longName = await Assert.ThrowsAsync<RpcException>(() => replays.StartReplayAsync(new StartReplayRequest { File = new string('a', 5000), Speed = 1 }).ResponseAsync);
        RpcException slow = await Assert.ThrowsAsync<RpcException>(() => replays.StartReplayAsync(new StartReplayRequest { File = "biosppy-emg.bdf", Speed = 1e-9 }).ResponseAsync);

        Assert.Equal((StatusCode.InvalidArgument, StatusCode.InvalidArgument, StatusCode.InvalidArgument), (nul.StatusCode, longName.StatusCode, slow.StatusCode));
        Assert.True(longName.Status.Detail.Length < 200, longName.Status.Detail);
        ulong before = Status(live).Counters.SampleFrames;
        await Eventually.TrueAsync(() => Status(live).Counters.SampleFrames > before + 500 && Status(live).Board?.ChannelCount == 8, TimeSpan.FromSeconds(30), "the board again, frames flowing");
        Assert.False(server.HasExited, string.Join('\n', server.Output));
    }

    [Fact]
    public async Task A_replay_that_ends_returns_the_station_to_its_board()
    {
        // Before: the station stayed on a finished replay, connected, with no frames, its last values shown as current.
        string samples = Path.Combine(RepositoryPaths.Root, "samples");
        await using ServerProcess server = ServerProcess.StartListening($"--Recording:Folder={samples}");
        using GrpcChannel channel = GrpcChannel.ForAddress(server.Address);
        var live = new Live.LiveClient(channel);
        await new Replays.ReplaysClient(channel).StartReplayAsync(new StartReplayRequest { File = "biosppy-emg_1.bdf", Speed = 0, StartSeconds = 60 });

        await Eventually.TrueAsync(() => Status(live).SourceKind == SourceKind.SimulatedBoard && Status(live).Board?.ChannelCount == 8, TimeSpan.FromSeconds(30), "the simulated board after the replay's end");
        Assert.Equal("SCM L", Status(live).Channels[0].Label); // the board's labels back
    }

    /// <summary>A one-signal EDF+ file of a slow sine, written with the project's writer.</summary>
    private static void WriteEdf(string path, int samplesPerSecond, int seconds)
    {
        var header = new EmgBiofeedback.Recording.BdfHeader
        {
            Is24Bit = false,
            PatientId = "X X X X",
            RecordingId = "Startdate 02-DEC-2026 X X X",
            StartTime = new DateTime(2026, 12, 2, 10, 0, 0),
            Reserved = "EDF+C",
            Signals = [new EmgBiofeedback.Recording.BdfSignal("EMG slow", "", "uV", -3276.8, 3276.7, -32768, 32767, "", samplesPerSecond)],
            AnnotationSamplesPerRecord = 30,
        };
        using var stream = new FileStream(path, FileMode.CreateNew);
        using var writer = new EmgBiofeedback.Recording.BdfWriter(stream, header);
        var record = new int[samplesPerSecond];
        for (int r = 0; r < seconds; r++)
        {
            for (int i = 0; i < samplesPerSecond; i++)
            {
                record[i] = (int)(1000 * Math.Sin(2 * Math.PI * 7 * (r + (i / (double)samplesPerSecond))));
            }
            writer.WriteRecord(record);
        }
    }

    private static EmgBiofeedback.Contracts.V1.Status Status(Live.LiveClient live) => live.GetStatus(new GetStatusRequest());
}
