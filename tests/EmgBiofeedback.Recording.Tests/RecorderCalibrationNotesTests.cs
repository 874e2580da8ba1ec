using EmgBiofeedback.Acquisition;
using EmgBiofeedback.Protocol;
using EmgBiofeedback.Sessions;

namespace EmgBiofeedback.Recording.Tests;

/// <summary>
/// Reusing a stored calibration writes one "calibration reused ..." note per montage muscle at one instant. The
/// end-to-end run of issue 18 (8-muscle montage, stored calibration reused, a target, a protocol, a marker in the same
/// second) found 4 of them dropped from the recording: the notes' room (10 x 48 bytes) held fewer than eight such notes.
/// Dropped, `emg summary` of the file could no longer recompute the session's %MVC.
/// </summary>
public sealed class RecorderCalibrationNotesTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("emg-notes-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void Every_muscles_reused_calibration_and_a_full_second_of_markers_fit_one_record_of_an_eight_channel_recording()
    {
        string[] labels = ["SCM L", "SCM R", "UT L", "UT R", "SPL L", "SPL R", "LS L", "LS R"];
        var recorder = new Recorder(new RecorderOptions { Station = "bay-1" }, new RecordingsFolder(_folder), TimeProvider.System);
        recorder.OnEvent(new AcquisitionEvent(StationEventKind.Connected, DateTimeOffset.UtcNow, "Connected to serial /dev/ttyACM0 @ 500000") { Source = SourceKind.SerialBoard });
        recorder.OnBoard(new BoardInfo(1, 1, 0, 0, 8, 1000, 10, 5000, true, 0, "uno"));
        recorder.Start(new RecordingRequest("bay-1", "20261202-162936-P-E2E-1", "P-E2E-1", labels));
        var counts = new ushort[8];
        for (long i = 0; i < 300; i++)
        {
            recorder.OnSamples(i, counts);
        }
        // Numbers in their longest shortest-exact form: what a real calibration's doubles print as.
        var texts = labels.Select(l => ClinicalAnnotation.ReusedText(l, new MuscleCalibration(7.8432165384292603, 123.45678901234568, "x", DateTimeOffset.UtcNow))).ToList();
        texts.AddRange(Enumerable.Range(1, 10).Select(i => $"marker {i} of a busy second, 30 ch"));
        foreach (string text in texts)
        {
            Assert.True(recorder.Mark(text, 300, 0), $"dropped: {text}");
        }
        for (long i = 300; i < 2000; i++)
        {
            recorder.OnSamples(i, counts);
        }
        string path = recorder.Stop()!;

        Assert.Equal(0, recorder.AnnotationsLost);
        using var file = new RecordingFile(path);
        foreach (string text in texts)
        {
            Assert.Contains(file.Annotations, a => a.Text == text && Math.Abs(a.OnsetSeconds - 0.3) < 1e-9);
        }
    }
}
