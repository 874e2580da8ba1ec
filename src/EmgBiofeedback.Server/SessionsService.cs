using EmgBiofeedback.Acquisition;
using EmgBiofeedback.Sessions;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.AspNetCore.Authorization;
using V1 = EmgBiofeedback.Contracts.V1;

namespace EmgBiofeedback.Server;

/// <summary>emg.v1.Sessions: clinicians only; thin over <see cref="SessionManager"/> and the clinical layer.</summary>
[Authorize(Policy = ApiRoles.ControlPolicy)]
internal sealed class SessionsService(SessionManager sessions, AcquisitionLoop acquisition, ProtocolStore protocols) : V1.Sessions.SessionsBase
{
    public override Task<V1.Session> StartSession(V1.StartSessionRequest request, ServerCallContext context) =>
        Run(() =>
        {
            if (request.Montage.Any(m => !System.Enum.IsDefined(m.Side)))
            {
                throw new SessionRuleException("montage.side", "montage.side is not a Side.");
            }
            Montage? montage = request.Montage.Count > 0
                ? Montage.Create(request.Montage.Select(m => new MontageEntry((int)m.Channel, m.Muscle, (Side)m.Side)))
                : request.MontagePreset.Length > 0 ? Montage.Preset(request.MontagePreset) : null;
            Session session = sessions.Start(request.PatientCode, montage, acquisition.Counters.LostFrames, Outcomes(request.Outcomes));
            V1.Session message = ProtoMapping.ToProto(session);
            if (StoredOrNull(session.PatientCode) is { } stored)
            {
                message.StoredCalibrationSavedAt = Timestamp.FromDateTimeOffset(stored.SavedAt);
            }
            return message;
        });

    private StoredCalibration? StoredOrNull(string patient)
    {
        try
        {
            return sessions.StoredCalibration(patient);
        }
        catch (InvalidDataException)
        {
            return null; // a damaged store offers nothing; GetStoredCalibration says why
        }
    }

    private static Dictionary<string, double> Outcomes(V1.Outcomes? o)
    {
        var result = new Dictionary<string, double>();
        if (o is null)
        {
            return result;
        }
        if (o.HasTwstrsTotal)
        {
            result["twstrs_total"] = o.TwstrsTotal;
        }
        if (o.HasTsui)
        {
            result["tsui"] = o.Tsui;
        }
        if (o.HasDaysSinceBotulinumToxin)
        {
            result["days_since_botulinum_toxin"] = o.DaysSinceBotulinumToxin;
        }
        return result;
    }

    public override Task<V1.SessionSummary> StopSession(V1.StopSessionRequest request, ServerCallContext context) =>
        Run(() => ToProto(sessions.Stop(acquisition.Counters.LostFrames)));

    private static V1.SessionSummary ToProto(StoppedSession s) => new()
    {
        Session = ProtoMapping.ToProto(s.Session),
        StoppedAt = Timestamp.FromDateTimeOffset(s.StoppedAt),
        DurationSeconds = (s.StoppedAt - s.Session.StartedAt).TotalSeconds,
        ActivationFrames = (ulong)s.ActivationFrames,
        LostSamples = (ulong)s.LostSamples,
        Markers = (uint)s.Markers,
        SummaryJson = s.Summary is { } summary ? SummaryJson.Write(summary) : "",
        RecordingPath = s.RecordingPath ?? "",
        SummaryPath = s.SummaryPath ?? "",
        ReportUrl = s.SummaryPath is not null ? ReportEndpoint.UrlFor(s.Session.SessionId) : "",
        Stopped = true,
    };

    public override Task<V1.SessionSummary> GetSummary(V1.GetSummaryRequest request, ServerCallContext context) =>
        Run(() =>
        {
            if (sessions.Current is { } open)
            {
                SessionSummary summary = sessions.Summary();
                return new V1.SessionSummary
                {
                    Session = ProtoMapping.ToProto(open),
                    DurationSeconds = summary.DurationSeconds,
                    ActivationFrames = (ulong)summary.Frames,
                    Markers = (uint)summary.Markers.Count,
                    SummaryJson = SummaryJson.Write(summary),
                };
            }
            return ToProto(sessions.Last ?? throw new SessionStateException("No session is open and none has ended since the service started."));
        });

    public override Task<V1.Marker> AddMarker(V1.AddMarkerRequest request, ServerCallContext context) =>
        Run(() =>
        {
            Marker m = sessions.AddMarker(request.Label);
            return new V1.Marker { Label = m.Label, Time = Timestamp.FromDateTimeOffset(m.Time), SampleIndex = m.SampleIndex };
        });

    public override Task<V1.ListMontagesResponse> ListMontages(V1.ListMontagesRequest request, ServerCallContext context)
    {
        var response = new V1.ListMontagesResponse();
        foreach (Montage preset in Montage.Presets)
        {
            var message = new V1.MontagePreset { Name = preset.Name };
            message.Entries.AddRange(preset.Entries.Select(ProtoMapping.ToProto));
            message.Actions.AddRange(preset.Entries.Select(e => $"{e.Info.Name}: {e.Info.Actions}"));
            response.Presets.Add(message);
        }
        return Task.FromResult(response);
    }

    public override async Task<V1.CalibrationResult> Calibrate(V1.CalibrateRequest request, ServerCallContext context)
    {
        CalibrationStep step = request.Step switch
        {
            V1.CalibrationStep.SignalCheck => CalibrationStep.SignalCheck,
            V1.CalibrationStep.Rest => CalibrationStep.Rest,
            V1.CalibrationStep.Mvc => CalibrationStep.Mvc,
            _ => throw new RpcException(new Status(StatusCode.InvalidArgument, "step must be SIGNAL_CHECK, REST or MVC.")),
        };
        CalibrationStepResult result = await RunAsync(() => sessions.CalibrateAsync(step, request.Label, context.CancellationToken));
        var message = new V1.CalibrationResult { Accepted = result.Ok };
        message.Refusals.AddRange(result.Refused.Select(r => new V1.ChannelRefusal { Label = r.Label, Reason = r.Reason }));
        message.Calibrations.AddRange(result.Accepted.Select(a => ProtoMapping.ToProto(a.Key, a.Value)));
        foreach ((string label, double rest) in result.RestLevels)
        {
            message.RestUv[label] = rest;
        }
        return message;
    }

    public override Task<V1.StoredCalibration> GetStoredCalibration(V1.GetStoredCalibrationRequest request, ServerCallContext context) =>
        Run(() =>
        {
            string? patient = request.PatientCode.Length > 0 ? request.PatientCode : null;
            if (patient is not null && !PatientCode.IsValid(patient))
            {
                throw new SessionRuleException("patient_code", $"patient_code must be {PatientCode.Rule}.");
            }
            StoredCalibration stored = sessions.StoredCalibration(patient)
                ?? throw new RpcException(new Status(StatusCode.NotFound, $"No stored calibration for patient {patient ?? sessions.Current?.PatientCode ?? "(no session open)"}."));
            return ProtoMapping.ToProto(stored);
        });

    public override Task<V1.StoredCalibration> ReuseCalibration(V1.ReuseCalibrationRequest request, ServerCallContext context) =>
        Run(() => ProtoMapping.ToProto(sessions.ReuseCalibration()));

    public override Task<V1.SetTargetResponse> SetTarget(V1.SetTargetRequest request, ServerCallContext context) =>
        Run(() =>
        {
            TargetSpec? spec = request.Direction switch
            {
                V1.TargetDirection.Below or V1.TargetDirection.Above => new TargetSpec(
                    request.Direction == V1.TargetDirection.Below ? TargetDirection.Below : TargetDirection.Above,
                    request.LevelPct,
                    request.HasReleasePct ? request.ReleasePct : TargetSpec.DefaultRelease(request.LevelPct),
                    request.HasDwellSeconds ? request.DwellSeconds : TargetSpec.DefaultDwellSeconds,
                    request.Partner.Length > 0 ? request.Partner : null,
                    request.PartnerLevelPct),
                V1.TargetDirection.None => null,
                _ => throw new SessionRuleException("direction", "direction must be BELOW, ABOVE or NONE."),
            };
            return new V1.SetTargetResponse { Annotation = sessions.SetTarget(request.Label, spec).Text };
        });

    public override Task<V1.ListProtocolsResponse> ListProtocols(V1.ListProtocolsRequest request, ServerCallContext context)
    {
        var response = new V1.ListProtocolsResponse();
        response.Protocols.AddRange(protocols.List().Select(ProtoMapping.ToProto));
        return Task.FromResult(response);
    }

    public override Task<V1.ProtocolTemplate> SaveProtocol(V1.ProtocolTemplate request, ServerCallContext context) =>
        Run(() =>
        {
            ProtocolTemplate template = ProtoMapping.FromProto(request);
            protocols.Save(template);
            return ProtoMapping.ToProto(template);
        });

    public override Task<V1.ProtocolResponse> StartProtocol(V1.StartProtocolRequest request, ServerCallContext context) =>
        Run(() =>
        {
            sessions.StartProtocol(protocols.Find(request.Name));
            return Running();
        });

    public override Task<V1.ProtocolResponse> PauseProtocol(V1.ProtocolControlRequest request, ServerCallContext context) =>
        Run(() =>
        {
            sessions.PauseProtocol();
            return Running();
        });

    public override Task<V1.ProtocolResponse> ResumeProtocol(V1.ProtocolControlRequest request, ServerCallContext context) =>
        Run(() =>
        {
            sessions.ResumeProtocol();
            return Running();
        });

    public override Task<V1.ProtocolResponse> Abort(V1.ProtocolControlRequest request, ServerCallContext context) =>
        Run(() =>
        {
            sessions.Abort();
            return Running();
        });

    public override Task<V1.SetOutcomesResponse> SetOutcomes(V1.SetOutcomesRequest request, ServerCallContext context) =>
        Run(() =>
        {
            foreach ((string score, double value) in Outcomes(request.Outcomes))
            {
                sessions.Outcome(score, value);
            }
            return new V1.SetOutcomesResponse();
        });

    private V1.ProtocolResponse Running() => new() { Running = sessions.Running ?? "" };

    /// <summary>Domain refusals become the gRPC status a client can act on, with the field named.</summary>
    private static Task<T> Run<T>(Func<T> action)
    {
        try
        {
            return Task.FromResult(action());
        }
        catch (Exception e) when (Translate(e) is { } rpc)
        {
            throw rpc;
        }
    }

    private static async Task<T> RunAsync<T>(Func<Task<T>> action)
    {
        try
        {
            return await action();
        }
        catch (Exception e) when (Translate(e) is { } rpc)
        {
            throw rpc;
        }
    }

    private static RpcException? Translate(Exception e) => e switch
    {
        SessionRuleException => new RpcException(new Status(StatusCode.InvalidArgument, e.Message)),
        SessionStateException => new RpcException(new Status(StatusCode.FailedPrecondition, e.Message)),
        SessionLimitException => new RpcException(new Status(StatusCode.ResourceExhausted, e.Message)),
        InvalidDataException => new RpcException(new Status(StatusCode.DataLoss, e.Message)),
        _ => null,
    };
}
