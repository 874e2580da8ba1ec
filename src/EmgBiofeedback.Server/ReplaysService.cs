using EmgBiofeedback.Acquisition;
using EmgBiofeedback.Pipeline;
using EmgBiofeedback.Recording;
using Grpc.Core;
using Microsoft.AspNetCore.Authorization;
using V1 = EmgBiofeedback.Contracts.V1;

namespace EmgBiofeedback.Server;

/// <summary>
/// emg.v1.Replays: clinicians switch the station between its board and a recording. The recording replaces
/// the board behind the same acquisition loop, so every stream, the history and the recorder see it as live.
/// </summary>
[Authorize(Policy = ApiRoles.ControlPolicy)]
internal sealed class ReplaysService(SwitchableBoardLink link, ReplaySource board, RecordingsFolder folder, LivePipeline pipeline, TimeProvider time) : V1.Replays.ReplaysBase
{
    public override async Task<V1.ReplayStatus> StartReplay(V1.StartReplayRequest request, ServerCallContext context)
    {
        if (request.Speed is < 0 or > 1000 || double.IsNaN(request.Speed))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"speed: {request.Speed} must be 0 (as fast as possible) to 1000."));
        }
        string path;
        double duration;
        IReadOnlyList<string> labels;
        try
        {
            path = folder.Resolve(request.File);
            using var file = new RecordingFile(path);
            duration = file.RecordCount * file.Header.RecordDurationSeconds;
            labels = file.Labels;
        }
        catch (Exception e) when (e is RecordingPathException or IOException or InvalidDataException or ArgumentException)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"file: {ClientErrors.WithoutServerPaths(e.Message, folder.Root)}"));
        }
        CheckStart(request.StartSeconds, duration, "start_seconds");
        pipeline.SetLabels(labels); // the recording names its channels
        return await SwitchAsync(new ReplayBoardLink(path, request.Speed, time, request.StartSeconds), duration);
    }

    public override async Task<V1.ReplayStatus> SeekReplay(V1.SeekReplayRequest request, ServerCallContext context)
    {
        if (link.Target is not ReplayBoardLink current)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, "No replay is running: start one first."));
        }
        double duration;
        using (var file = new RecordingFile(current.Path))
        {
            duration = file.RecordCount * file.Header.RecordDurationSeconds;
        }
        CheckStart(request.Seconds, duration, "seconds");
        return await SwitchAsync(new ReplayBoardLink(current.Path, current.Speed, time, request.Seconds), duration);
    }

    public override async Task<V1.ReplayStatus> StopReplay(V1.StopReplayRequest request, ServerCallContext context)
    {
        if (link.Target is not ReplayBoardLink)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, "No replay is running."));
        }
        pipeline.SetLabels(board.Labels);
        await link.SwitchToAsync(board.Link);
        return new V1.ReplayStatus { Replaying = false, Link = link.Description };
    }

    private async Task<V1.ReplayStatus> SwitchAsync(ReplayBoardLink replay, double duration)
    {
        await link.SwitchToAsync(replay);
        return new V1.ReplayStatus
        {
            Replaying = true,
            File = Path.GetFileName(replay.Path),
            Speed = replay.Speed,
            StartSeconds = replay.StartSeconds,
            DurationSeconds = duration,
            Link = link.Description,
        };
    }

    private static void CheckStart(double seconds, double duration, string field)
    {
        if (seconds < 0 || seconds >= duration || double.IsNaN(seconds))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"{field}: {seconds} s is outside the recording (0 to {duration} s)."));
        }
    }
}

/// <summary>The station's own source (board or configured replay), to return to when a replay stops.</summary>
internal sealed record ReplaySource(IBoardLink Link, IReadOnlyList<string> Labels);
