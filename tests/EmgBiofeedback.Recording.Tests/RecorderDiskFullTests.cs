using EmgBiofeedback.Acquisition;
using EmgBiofeedback.Protocol;

namespace EmgBiofeedback.Recording.Tests;

/// <summary>
/// A recordings folder whose file system fills up mid-session (a real tmpfs filled to the last byte): the recorder stops
/// with a clear reason, counts what it cannot record, keeps the file readable to its last flushed second, and never throws
/// into the acquisition thread that feeds it (issue 18: the end-to-end run found the service dying of a full disk, the
/// recorder's IOException ending the acquisition loop).
/// </summary>
public sealed class RecorderDiskFullTests : IDisposable
{
    private const int Rate = 1000;
    private const int Channels = 8;
    private readonly TmpfsFolder _disk = TmpfsFolder.Mount(2L << 20);

    public void Dispose() => _disk.Dispose();

    private static int Expected(long i, int c) => (int)((i + (c * 100)) % 1024);

    private static void Feed(Recorder recorder, long from, long count)
    {
        var counts = new ushort[Channels];
        for (long i = from; i < from + count; i++)
        {
            for (int c = 0; c < Channels; c++)
            {
                counts[c] = (ushort)Expected(i, c);
            }
            recorder.OnSamples(i, counts);
        }
    }

    [Fact]
    public void A_full_disk_stops_the_recording_with_its_reason_counts_what_is_not_recorded_and_never_throws_into_the_acquisition()
    {
        var recorder = new Recorder(new RecorderOptions { Station = "bay-1" }, new RecordingsFolder(_disk.Path), TimeProvider.System);
        var failures = new List<(string? Path, string Reason)>();
        recorder.RecordingFailed += (path, reason) => failures.Add((path, reason));
        recorder.OnEvent(new AcquisitionEvent(StationEventKind.Connected, DateTimeOffset.UtcNow, "Connected") { Source = SourceKind.SerialBoard });
        recorder.OnBoard(new BoardInfo(1, 1, 0, 0, Channels, Rate, 10, 5000, true, 0, "uno"));
        recorder.Start(new RecordingRequest("bay-1", "S-1", "P1", ["SCM L", "SCM R"]));
        string path = recorder.CurrentPath!;
        Feed(recorder, 0, 3500); // three records flushed, half a second in the record being filled

        _disk.Fill();
        Feed(recorder, 3500, 4000); // the next record cannot be written: every call returns, none throws
        recorder.OnGap(new SampleGap(7600, 100, GapCause.SequenceGap));
        recorder.Mark("sensory trick");
        Feed(recorder, 7600, 400);

        (string? failedPath, string reason) = Assert.Single(failures);
        Assert.Equal(path, failedPath);
        Assert.Contains("No space left on device", reason, StringComparison.Ordinal);
        Assert.Equal(reason, recorder.Failure);
        Assert.True(recorder.IsRecording, "the session's recording is still open (stopped, not ended)");
        Assert.Null(recorder.CurrentPath);
        // Everything from the last flushed record on: 3000..7499 and 7600..7999 reached the recorder and are in no file.
        Assert.Equal(4500 + 400, recorder.SamplesNotRecorded);
        Assert.Equal(recorder.SamplesNotRecorded, recorder.SamplesNotRecordedInSession);

        // The file is readable to its last flushed second, every value as sent.
        using (var file = new RecordingFile(path))
        {
            Assert.Equal(3, file.RecordCount);
            var counts = new int[Rate * Channels];
            var recorded = new bool[Rate];
            for (long r = 0; r < file.RecordCount; r++)
            {
                file.ReadRecord(r, counts, recorded);
                for (int i = 0; i < Rate; i++)
                {
                    Assert.True(recorded[i]);
                    for (int c = 0; c < Channels; c++)
                    {
                        Assert.Equal(Expected((r * Rate) + i, c), counts[(i * Channels) + c]);
                    }
                }
            }
        }

        // The session ends; with space again, the next session records.
        Assert.Equal(path, recorder.Stop());
        Assert.Null(recorder.Failure);
        _disk.Free();
        recorder.Start(new RecordingRequest("bay-1", "S-2", "P1", ["SCM L", "SCM R"]));
        Feed(recorder, 8000, 2000);
        string second = recorder.Stop()!;
        using var next = new RecordingFile(second);
        Assert.Equal(2, next.RecordCount);
        Assert.Equal(0, recorder.SamplesNotRecordedInSession);
        Assert.Equal(4900, recorder.SamplesNotRecorded); // since start-up
        Assert.Single(failures);
    }

    [Fact]
    public void A_session_started_on_a_full_disk_goes_on_without_a_file_and_counts_every_sample()
    {
        var recorder = new Recorder(new RecorderOptions { Station = "bay-1" }, new RecordingsFolder(_disk.Path), TimeProvider.System);
        var failures = new List<(string? Path, string Reason)>();
        recorder.RecordingFailed += (path, reason) => failures.Add((path, reason));
        recorder.OnBoard(new BoardInfo(1, 1, 0, 0, Channels, Rate, 10, 5000, true, 0, "uno"));
        _disk.Fill();

        recorder.Start(new RecordingRequest("bay-1", "S-3", "P1", ["SCM L"]));
        Feed(recorder, 0, 1500);

        Assert.Single(failures);
        Assert.Contains("No space left on device", recorder.Failure, StringComparison.Ordinal);
        Assert.Equal(1500, recorder.SamplesNotRecorded);
        recorder.Stop();
        Assert.Null(recorder.Failure);
    }
}
