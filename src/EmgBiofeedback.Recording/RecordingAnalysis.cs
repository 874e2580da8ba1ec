using EmgBiofeedback.Dsp;
using EmgBiofeedback.Sessions;

namespace EmgBiofeedback.Recording;

/// <summary>
/// A session analysed again from its recording alone: the signal chain over the samples (<see cref="RecordingProcessor"/>),
/// the clinical layer over the envelopes (<see cref="ClinicalSession"/>), fed with the recording's annotations read back
/// through the clinical vocabulary. The live station runs the same two steps on the same samples from the recording's
/// first sample, so its summary and this one are equal, bit for bit.
/// </summary>
public static class RecordingAnalysis
{
    /// <summary>The session in a recording, run through the chain and the clinical layer; warnings say what was not understood.</summary>
    public sealed record Result(ClinicalSession Session, SessionSummary Summary, IReadOnlyList<string> Warnings);

    public static Result Analyse(string path, SignalChainOptions options, CalibrationSettings calibration, double markerWindowSeconds = 10)
    {
        using var recording = new RecordingFile(path);
        SignalChain chain = RecordingProcessor.CreateChain(recording, options);
        int channels = recording.ChannelCount;
        Montage montage = Montage.FromLabels(recording.Labels);
        var warnings = new List<string>();
        if (montage.Entries.Count == 0)
        {
            warnings.Add($"No channel label names a muscle ({string.Join(", ", recording.Labels)}): no %MVC, no indices; label channels \"<muscle> L/R\" (e.g. SCM L).");
        }
        var setup = new ClinicalSetup(montage, channels, recording.SampleRateHz, chain.Design.OutputRateHz,
            chain.Design.RmsWindowSamples * 1000.0 / recording.SampleRateHz, calibration)
        {
            MarkerWindowSeconds = markerWindowSeconds,
        };
        var session = new ClinicalSession(setup);
        DateTimeOffset start = new(DateTime.SpecifyKind(recording.Header.StartTime, DateTimeKind.Local));
        session.PositionToTime = p => start.AddSeconds(p / recording.SampleRateHz);
        foreach (BdfAnnotation a in recording.Annotations)
        {
            long position = (long)Math.Round(a.OnsetSeconds * recording.SampleRateHz);
            long duration = (long)Math.Round((a.DurationSeconds ?? 0) * recording.SampleRateHz);
            ClinicalAnnotation? parsed = ClinicalAnnotation.Parse(a.Text, position, duration, RecordingLayout.IsStationNote);
            if (parsed is null)
            {
                continue;
            }
            if (parsed.Label.Length > 0 && parsed.Kind is not (ClinicalAnnotationKind.Marker or ClinicalAnnotationKind.Outcome) && montage.ForLabel(parsed.Label) is null)
            {
                warnings.Add($"Annotation \"{a.Text}\" at {a.OnsetSeconds:0.###} s names {parsed.Label}, which no channel is labelled: ignored.");
                continue;
            }
            session.Apply(parsed);
        }
        var values = new ClinicalValue[channels];
        RecordingProcessor.Run(recording, chain, outputs =>
        {
            for (int o = 0; o + channels <= outputs.Length; o += channels)
            {
                session.Process(outputs.Slice(o, channels), values);
            }
        });
        session.Flush();
        var info = new SessionInfo(RecordedSession(recording.Header.RecordingId), PatientCode(recording.Header.PatientId),
            RecordedStation(recording.Header.RecordingId), start, RecordingLayout.SourceWord(recording.RecordedSource) is { Length: > 0 } w ? w : "board");
        return new Result(session, SessionAnalysis.Summarize(session, info), warnings);
    }

    /// <summary>The patient code: the first subfield of EDF+'s patient field ("X" when unknown).</summary>
    public static string PatientCode(string patientId) => patientId.Split(' ', StringSplitOptions.RemoveEmptyEntries) is { Length: > 0 } f ? f[0] : "X";

    /// <summary>The session: the third subfield of EDF+'s recording field ("Startdate dd-MMM-yyyy &lt;session&gt; ...").</summary>
    public static string RecordedSession(string recordingId) => recordingId.Split(' ', StringSplitOptions.RemoveEmptyEntries) is { Length: > 2 } f ? f[2] : "X";

    /// <summary>The station: the fifth subfield of EDF+'s recording field.</summary>
    public static string RecordedStation(string recordingId) => recordingId.Split(' ', StringSplitOptions.RemoveEmptyEntries) is { Length: > 4 } f ? f[4] : "X";
}
