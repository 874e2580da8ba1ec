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
internal sealed class ReplaysService(ReplayControl replays, ReplaySource board, RecordingsFolder folder, LivePipeline pipeline) : V1.Replays.ReplaysBase
{
    public override async Task<V1.ReplayStatus> StartReplay(V1.StartReplayRequest request, ServerCallContext context)
    {
        ReplayState state = await Translate(() => replays.StartAsync(request.File, request.Speed, request.StartSeconds, request.Signals.Count > 0 ? request.Signals : null));
        pipeline.SetLabels(state.Labels); // the recording names its channels
        return Status(state);
    }

    public override async Task<V1.ReplayStatus> SeekReplay(V1.SeekReplayRequest request, ServerCallContext context) =>
        Status(await Translate(() => replays.SeekAsync(request.Seconds)));

    public override async Task<V1.ReplayStatus> StopReplay(V1.StopReplayRequest request, ServerCallContext context)
    {
        await Translate(async () =>
        {
            await replays.StopAsync();
            return 0;
        });
        pipeline.SetLabels(board.Labels);
        return new V1.ReplayStatus { Replaying = false, Link = replays.Current?.Description ?? board.Link.Description };
    }

    private async Task<T> Translate<T>(Func<Task<T>> action)
    {
        try
        {
            return await action();
        }
        catch (ReplayRefusedException e)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, ClientErrors.WithoutServerPaths(e.Message, folder.Root)));
        }
        catch (InvalidOperationException e)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, e.Message));
        }
    }

    private static V1.ReplayStatus Status(ReplayState s) => new()
    {
        Replaying = true,
        File = s.File,
        Speed = s.Speed,
        StartSeconds = s.StartSeconds,
        DurationSeconds = s.DurationSeconds,
        Link = s.Link,
    };
}

/// <summary>The station's own source (board or configured replay), to return to when a replay stops.</summary>
internal sealed record ReplaySource(IBoardLink Link, IReadOnlyList<string> Labels);
