using EmgBiofeedback.Acquisition;
using EmgBiofeedback.Dsp;
using EmgBiofeedback.Pipeline;
using EmgBiofeedback.Protocol;
using Google.Protobuf.WellKnownTypes;
using V1 = EmgBiofeedback.Contracts.V1;

namespace EmgBiofeedback.Server;

/// <summary>Domain objects to their wire form (emg.v1). One place, so every stream says the same thing.</summary>
internal static class ProtoMapping
{
    /// <param name="channels">Channels to include, in the order asked; null for all.</param>
    /// <param name="source">The kind of source the frame's samples came from.</param>
    public static V1.ActivationFrame ToProto(ActivationFrame frame, IReadOnlyList<int>? channels)
    {
        var message = new V1.ActivationFrame
        {
            Sequence = frame.Sequence,
            SampleIndex = frame.SampleIndex,
            SampleTimeSeconds = frame.SampleTimeSeconds,
            ComputedAt = Timestamp.FromDateTimeOffset(frame.ComputedAt),
            SourceKind = ToProto(frame.Source),
        };
        if (channels is null)
        {
            foreach (MuscleActivation m in frame.Muscles)
            {
                message.Muscles.Add(ToProto(m));
            }
        }
        else
        {
            foreach (int c in channels)
            {
                if (c < frame.Muscles.Length)
                {
                    message.Muscles.Add(ToProto(frame.Muscles[c]));
                }
            }
        }
        return message;
    }

    /// <summary>The status snapshot as emg.v1.Status.</summary>
    public static V1.Status ToProto(StationStatus s)
    {
        DecoderCounters c = s.Counters;
        var status = new V1.Status
        {
            Connected = s.Connected,
            Link = s.Link,
            Counters = new V1.Counters
            {
                SampleFrames = (ulong)c.SampleFrames,
                LostFrames = (ulong)c.LostFrames,
                Gaps = (ulong)c.Gaps,
                Duplicates = (ulong)c.Duplicates,
                CrcErrors = (ulong)c.CrcErrors,
                MalformedFrames = (ulong)c.MalformedFrames,
                DiscardedBytes = (ulong)c.DiscardedBytes,
                Resyncs = (ulong)c.Resyncs,
                Reconnects = (ulong)s.Reconnects,
                DroppedSubscriberFrames = (ulong)s.DroppedSubscriberFrames,
            },
            ActivationSubscribers = (uint)s.ActivationSubscribers,
            ActivationRateHz = (uint)Math.Round(s.ActivationRateHz),
            SourceKind = ToProto(s.Source),
            NotProcessed = s.NotProcessed ?? "",
            AnnotationsLost = (ulong)s.AnnotationsLost,
        };
        if (s.Board is { } b)
        {
            status.Board = new V1.Board
            {
                Name = b.BoardName,
                FirmwareVersion = b.FirmwareVersion,
                ChannelCount = (uint)b.ChannelCount,
                SampleRateHz = (uint)b.SampleRateHz,
                AdcBits = (uint)b.AdcBits,
                ReferenceMillivolts = (uint)b.ReferenceMillivolts,
            };
        }
        for (int i = 0; i < s.ChannelLabels.Count; i++)
        {
            status.Channels.Add(new V1.ChannelInfo { Channel = (uint)i, Label = s.ChannelLabels[i] });
        }
        status.DeliveryLatency = ToProto(s.DeliveryLatency);
        status.ArrivalToStream = ToProto(s.ArrivalToStream);
        if (s.History is { } h)
        {
            status.History = new V1.HistoryStatus
            {
                State = h.State.ToString(),
                PointsWritten = (ulong)h.PointsWritten,
                PointsDropped = (ulong)h.PointsDropped,
                SpoolBytes = (ulong)h.SpoolBytes,
                SpoolMaxBytes = (ulong)h.SpoolMaxBytes,
                SpoolBatches = (uint)h.SpoolBatches,
                LastError = h.LastError,
            };
        }
        if (s.Session is { } session)
        {
            status.Session = ToProto(session);
        }
        return status;
    }

    public static V1.LatencySummary ToProto(LatencyQuantiles l) =>
        new() { P50Ms = l.P50, P99Ms = l.P99, P999Ms = l.P999, MaxMs = l.Max, Count = (ulong)l.Count };

    public static V1.SourceKind ToProto(SourceKind source) => source switch
    {
        SourceKind.SerialBoard => V1.SourceKind.SerialBoard,
        SourceKind.SimulatedBoard => V1.SourceKind.SimulatedBoard,
        SourceKind.Replay => V1.SourceKind.Replay,
        _ => V1.SourceKind.Unspecified,
    };

    private static V1.MuscleActivation ToProto(MuscleActivation m)
    {
        var message = new V1.MuscleActivation
        {
            Channel = (uint)m.Channel,
            Label = m.Label,
            RmsMicrovolts = m.RmsMicrovolts,
            Target = (V1.TargetState)m.Target,
            Quality = (uint)m.Quality,
            Valid = m.Valid,
        };
        if (m.MvcPercent is float mvc)
        {
            message.MvcPercent = mvc;
        }
        if (m.TargetSpec is { } target)
        {
            message.TargetDirection = target.Direction == Sessions.TargetDirection.Below ? V1.TargetDirection.Below : V1.TargetDirection.Above;
            message.TargetLevelPct = (float)target.Level;
            message.TargetReleasePct = (float)target.Release;
        }
        return message;
    }

    public static V1.WaveformBlock ToProto(WaveformBlock block, IReadOnlyList<int> channels, bool raw)
    {
        var message = new V1.WaveformBlock
        {
            Sequence = block.Sequence,
            FirstSampleIndex = block.FirstSampleIndex,
            SampleRateHz = (uint)block.SampleRateHz,
        };
        float[] source = raw ? block.Raw : block.Filtered;
        foreach (int c in channels)
        {
            if (c >= block.Channels)
            {
                continue;
            }
            var samples = new V1.ChannelSamples { Channel = (uint)c };
            for (int f = 0; f < block.Frames; f++)
            {
                samples.Microvolts.Add(source[f * block.Channels + c]);
            }
            message.Channels.Add(samples);
        }
        return message;
    }

    public static V1.Event ToProto(LiveEvent e) => new()
    {
        Sequence = e.Sequence,
        Time = Timestamp.FromDateTimeOffset(e.Time),
        Kind = e.Kind switch
        {
            StationEventKind.Connected => V1.EventKind.Connected,
            StationEventKind.Disconnected => V1.EventKind.Disconnected,
            StationEventKind.BoardIdentified => V1.EventKind.BoardIdentified,
            StationEventKind.Gap => V1.EventKind.Gap,
            StationEventKind.BoardOverflow => V1.EventKind.BoardOverflow,
            StationEventKind.CommandRejected => V1.EventKind.CommandRejected,
            StationEventKind.SessionStarted => V1.EventKind.SessionStarted,
            StationEventKind.SessionStopped => V1.EventKind.SessionStopped,
            StationEventKind.Marker => V1.EventKind.Marker,
            StationEventKind.SourceChanged => V1.EventKind.SourceChanged,
            StationEventKind.SourceRefused => V1.EventKind.SourceRefused,
            StationEventKind.ProtocolPhase => V1.EventKind.ProtocolPhase,
            StationEventKind.CalibrationPrompt => V1.EventKind.CalibrationPrompt,
            StationEventKind.CalibrationResult => V1.EventKind.CalibrationResult,
            StationEventKind.TargetSet => V1.EventKind.TargetSet,
            StationEventKind.Clinical => V1.EventKind.Clinical,
            _ => V1.EventKind.Unspecified,
        },
        Message = e.Message,
        LostSamples = e.LostSamples,
        Estimated = e.Estimated,
        SampleIndex = e.SampleIndex,
        Label = e.Label,
        Phase = e.Clinical is { Kind: Sessions.NoticeKind.ProtocolPhase } n ? (V1.Phase)n.Phase : V1.Phase.Unspecified,
        Trial = (uint)(e.Clinical?.Trial ?? 0),
        Trials = (uint)(e.Clinical?.Trials ?? 0),
        SecondsLeft = e.Clinical?.SecondsLeft ?? 0,
        Instruction = e.Clinical?.Instruction ?? "",
        Refusals = { (e.Clinical?.Result?.Refused ?? []).Select(r => new V1.ChannelRefusal { Label = r.Label, Reason = r.Reason }) },
        StepDone = e.Clinical?.Kind == Sessions.NoticeKind.CalibrationDone,
    };

    public static V1.Session ToProto(Session s)
    {
        var message = new V1.Session { SessionId = s.SessionId, PatientCode = s.PatientCode, StartedAt = Timestamp.FromDateTimeOffset(s.StartedAt), MontageName = s.Montage.Name };
        foreach (Sessions.MontageEntry m in s.Montage.Entries)
        {
            message.Montage.Add(ToProto(m));
        }
        return message;
    }

    public static V1.MontageEntry ToProto(Sessions.MontageEntry m) => new() { Channel = (uint)m.Channel, Muscle = m.Muscle, Side = (V1.Side)m.Side };

    public static V1.MuscleCalibration ToProto(string label, Sessions.MuscleCalibration c) => new()
    {
        Label = label,
        RestUv = c.RestMicrovolts,
        MvcUv = c.MvcMicrovolts,
        Method = c.Method,
        CalibratedAt = Timestamp.FromDateTimeOffset(c.CalibratedAt),
    };

    public static V1.StoredCalibration ToProto(StoredCalibration stored)
    {
        var message = new V1.StoredCalibration { PatientCode = stored.PatientCode, SavedAt = Timestamp.FromDateTimeOffset(stored.SavedAt) };
        message.Muscles.AddRange(stored.Muscles.Select(m => ToProto(m.Key, m.Value)));
        return message;
    }

    public static V1.ProtocolTemplate ToProto(Sessions.ProtocolTemplate t) => new()
    {
        Name = t.Name,
        PreBaselineSeconds = t.PreBaselineSeconds,
        Trials = (uint)t.Trials,
        WorkSeconds = t.WorkSeconds,
        RestSeconds = t.RestSeconds,
        PostBaselineSeconds = t.PostBaselineSeconds,
        WorkInstruction = t.WorkInstruction,
        RestInstruction = t.RestInstruction,
        BaselineInstruction = t.BaselineInstruction,
    };

    public static Sessions.ProtocolTemplate FromProto(V1.ProtocolTemplate t)
    {
        var defaults = Sessions.ProtocolTemplate.Default;
        return new(t.Name, t.PreBaselineSeconds, (int)Math.Min(t.Trials, int.MaxValue), t.WorkSeconds, t.RestSeconds, t.PostBaselineSeconds,
            t.WorkInstruction.Length > 0 ? t.WorkInstruction : defaults.WorkInstruction,
            t.RestInstruction.Length > 0 ? t.RestInstruction : defaults.RestInstruction,
            t.BaselineInstruction.Length > 0 ? t.BaselineInstruction : defaults.BaselineInstruction);
    }

    /// <summary>Quality bits on the wire equal the signal chain's flags.</summary>
    public static readonly bool QualityBitsMatch =
        (uint)SignalQualityFlags.Flatline == (uint)V1.QualityFlag.Flatline &&
        (uint)SignalQualityFlags.Clipping == (uint)V1.QualityFlag.Clipping &&
        (uint)SignalQualityFlags.MainsContamination == (uint)V1.QualityFlag.Mains &&
        (uint)SignalQualityFlags.NoisyBaseline == (uint)V1.QualityFlag.NoisyBaseline;
}
