using EmgBiofeedback.Acquisition;
using EmgBiofeedback.Protocol;

namespace EmgBiofeedback.Recording.Tests;

/// <summary>A simulated session fed straight into a <see cref="Recorder"/>, without waiting for real time.</summary>
internal sealed class SimulatedRecording
{
    public const double Gain = 200;

    public required string Path { get; init; }
    public required BoardInfo Board { get; init; }
    public required IReadOnlyList<string> Labels { get; init; }

    /// <summary>Counts per file instant (null where a gap was filled).</summary>
    public required List<ushort[]?> Instants { get; init; }

    public double MicrovoltsPerCount => RecordingLayout.MicrovoltsPerCount(Board, Gain);

    /// <summary>Records <paramref name="seconds"/> s of the simulated board, losing <paramref name="gapLength"/> instants at <paramref name="gapAt"/>.</summary>
    public static SimulatedRecording Make(string folder, double seconds, long gapAt = -1, int gapLength = 0, Action<Recorder, long>? atInstant = null)
    {
        var board = new SimulatedBoard(new SimulatorOptions(), Gain);
        BoardInfo info = board.Describe();
        string[] labels = new SimulatorOptions().EffectiveMuscles(info.ChannelCount).Select(m => m.Label).ToArray();
        var recorder = new Recorder(new RecorderOptions { Station = "bench-2" }, new RecordingsFolder(folder), TimeProvider.System);
        recorder.OnBoard(info);
        recorder.Start(new RecordingRequest("bench-2", "S0042", "P-7F3A", labels));
        var instants = new List<ushort[]?>();
        var counts = new ushort[info.ChannelCount];
        long total = (long)(seconds * info.SampleRateHz);
        long index = 0;
        for (long i = 0; i < total; i++)
        {
            atInstant?.Invoke(recorder, i);
            if (i == gapAt)
            {
                for (int k = 0; k < gapLength; k++)
                {
                    board.TrySampleNext(counts, out _); // sampled by the board, lost on the line
                    instants.Add(null);
                }
                index += gapLength;
                recorder.OnGap(new SampleGap(index, gapLength, GapCause.SequenceGap));
            }
            board.TrySampleNext(counts, out _);
            recorder.OnSamples(index++, counts);
            instants.Add(counts.ToArray());
        }
        string path = recorder.CurrentPath!;
        recorder.Stop();
        return new SimulatedRecording { Path = path, Board = info, Labels = labels, Instants = instants };
    }
}
