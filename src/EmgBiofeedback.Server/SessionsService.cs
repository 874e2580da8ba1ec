using EmgBiofeedback.Acquisition;
using EmgBiofeedback.Sessions;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.AspNetCore.Authorization;
using V1 = EmgBiofeedback.Contracts.V1;

namespace EmgBiofeedback.Server;

/// <summary>emg.v1.Sessions: clinicians only; thin over <see cref="SessionManager"/>.</summary>
[Authorize(Policy = ApiRoles.ControlPolicy)]
internal sealed class SessionsService(SessionManager sessions, AcquisitionLoop acquisition) : V1.Sessions.SessionsBase
{
    public override Task<V1.Session> StartSession(V1.StartSessionRequest request, ServerCallContext context) =>
        Run(() =>
        {
            var montage = request.Montage.Select(m => new MontageEntry((int)m.Channel, m.Muscle, (Side)m.Side)).ToArray();
            if (request.Montage.Any(m => !System.Enum.IsDefined(m.Side)))
            {
                throw new SessionRuleException("montage.side", "montage.side is not a Side.");
            }
            return ProtoMapping.ToProto(sessions.Start(request.PatientCode, montage, acquisition.Counters.LostFrames));
        });

    public override Task<V1.SessionSummary> StopSession(V1.StopSessionRequest request, ServerCallContext context) =>
        Run(() =>
        {
            SessionSummary s = sessions.Stop(acquisition.Counters.LostFrames);
            return new V1.SessionSummary
            {
                Session = ProtoMapping.ToProto(s.Session),
                StoppedAt = Timestamp.FromDateTimeOffset(s.StoppedAt),
                DurationSeconds = (s.StoppedAt - s.Session.StartedAt).TotalSeconds,
                ActivationFrames = (ulong)s.ActivationFrames,
                LostSamples = (ulong)s.LostSamples,
                Markers = (uint)s.Markers,
            };
        });

    public override Task<V1.Marker> AddMarker(V1.AddMarkerRequest request, ServerCallContext context) =>
        Run(() =>
        {
            Marker m = sessions.AddMarker(request.Label);
            return new V1.Marker { Label = m.Label, Time = Timestamp.FromDateTimeOffset(m.Time), SampleIndex = m.SampleIndex };
        });

    /// <summary>Domain refusals become the gRPC status a client can act on, with the field named.</summary>
    private static Task<T> Run<T>(Func<T> action)
    {
        try
        {
            return Task.FromResult(action());
        }
        catch (SessionRuleException e)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, e.Message));
        }
        catch (SessionStateException e)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, e.Message));
        }
        catch (SessionLimitException e)
        {
            throw new RpcException(new Status(StatusCode.ResourceExhausted, e.Message));
        }
    }
}
