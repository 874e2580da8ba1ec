using EmgBiofeedback.Acquisition;
using EmgBiofeedback.Protocol;

namespace EmgBiofeedback.Recording.Tests;

/// <summary>A recording says what its samples came from, keeps a replayed file's own calibration, and never mixes sources.</summary>
public sealed class RecorderSourceTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("emg-source-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void A_recording_of_a_replay_keeps_the_replayed_files_scale_says_REPLAY_and_a_new_source_starts_a_new_file()
    {
        var recorder = new Recorder(new RecorderOptions { Station = "bay-3", SensorGain = 200 }, new RecordingsFolder(_folder), TimeProvider.System);
        // A replayed EDF's signal: 0.1 µV per count, 0 V at count 32768.5 (between two counts), counts 0..65535.
        ChannelScale scale = new(0.1, 32768.5, 0, 65535);
        BoardInfo replay = new(1, 0, 0, 0, 1, 1000, 16, 0, true, 0, "replay") { Scales = [scale] };
        Connect(recorder, SourceKind.Replay);
        recorder.OnBoard(replay);
        recorder.Start(new RecordingRequest("bay-3", "S-REPLAY-0001-a-session-id-of-32", "P1", ["SCM L"]));
        Feed(recorder, 0, 2000, i => (ushort)(30000 + (i % 5000)));
        string first = recorder.CurrentPath!;

        // The station goes back to its simulated board: the session continues in a new file.
        recorder.OnEvent(new AcquisitionEvent(StationEventKind.SourceChanged, DateTimeOffset.UtcNow, "Source changed"));
        Connect(recorder, SourceKind.SimulatedBoard);
        recorder.OnBoard(new BoardInfo(1, 1, 0, 0, 1, 1000, 10, 5000, true, 0, "simulated"));
        Feed(recorder, 2000, 1000, _ => 512);
        string second = recorder.CurrentPath!;
        recorder.Stop();

        Assert.NotEqual(first, second);
        using (var file = new RecordingFile(first))
        {
            Assert.EndsWith(" REPLAY", file.Header.RecordingId, StringComparison.Ordinal);
            Assert.Contains("S-REPLAY-0001-a-session-id-of-32", file.Header.RecordingId, StringComparison.Ordinal); // kept whole
            Assert.Equal(SourceKind.Replay, file.RecordedSource);
            Assert.Equal("EMG SCM L", file.Header.Signals[0].Label);
            Assert.Equal("SCM L", file.Labels[0]);
            Assert.Contains(file.Annotations, a => a.Text.StartsWith("Source: REPLAY", StringComparison.Ordinal));
            // The replayed file's scale, within what the header's 8-character fields hold; not the station's gain 200.
            ChannelScale kept = file.Scales[0];
            Assert.Equal(scale.MicrovoltsPerCount, kept.MicrovoltsPerCount, 1e-6);
            Assert.Equal(scale.ZeroCount, kept.ZeroCount, 1e-3);
        }
        using (var file = new RecordingFile(second))
        {
            Assert.EndsWith(" SIMULATED", file.Header.RecordingId, StringComparison.Ordinal);
            Assert.Equal(SourceKind.SimulatedBoard, file.RecordedSource);
            Assert.Equal(ChannelScale.ForAdc(10, 5000, 200), file.Scales[0]);
        }
    }

    private static void Connect(Recorder recorder, SourceKind source) =>
        recorder.OnEvent(new AcquisitionEvent(StationEventKind.Connected, DateTimeOffset.UtcNow, "Connected") { Source = source });

    private static void Feed(Recorder recorder, long from, int count, Func<long, ushort> value)
    {
        var counts = new ushort[1];
        for (long i = from; i < from + count; i++)
        {
            counts[0] = value(i);
            recorder.OnSamples(i, counts);
        }
    }
}
