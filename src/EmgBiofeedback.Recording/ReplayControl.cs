using EmgBiofeedback.Acquisition;
using EmgBiofeedback.Dsp;

namespace EmgBiofeedback.Recording;

/// <summary>A replay the station will not start, and why, in one line that names no server path.</summary>
public sealed class ReplayRefusedException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>What a replay is doing: the file (relative to the recordings folder), its pace and span, the signals it runs.</summary>
public sealed record ReplayState(string File, double Speed, double StartSeconds, double DurationSeconds, IReadOnlyList<string> Labels, string Link);

/// <summary>
/// Switches the station between its board and a recording, beside the <see cref="SwitchableBoardLink"/> the
/// acquisition loop reads. Every check happens before the switch: the path stays inside the recordings folder, the
/// file is a regular file and a recording this station can replay (wire format: at most 16 voltage signals of one
/// whole-Hz rate, 16-bit counts), and the signal chain can run at its rate with its own scales. A refused replay
/// leaves the station on the source it had, and raises <see cref="Refused"/> so every client learns why.
/// </summary>
public sealed class ReplayControl(SwitchableBoardLink link, IBoardLink board, RecordingsFolder folder, SignalChainOptions chain, TimeProvider time)
{
    /// <summary>Raised with the reason when a replay is refused.</summary>
    public event Action<string>? Refused;

    /// <summary>The replay running now, or null when the station reads its board.</summary>
    public ReplayBoardLink? Current => link.Target as ReplayBoardLink;

    /// <summary>
    /// Opens a recording for replay and checks that the chain can run it; the caller disposes the file. Throws
    /// <see cref="ReplayRefusedException"/> naming what is wrong (file, format, rate) and never a server path.
    /// </summary>
    public static RecordingFile Check(string path, string shownName, SignalChainOptions chain, IReadOnlyList<string>? signals = null)
    {
        RecordingFile? file = null;
        try
        {
            file = ReplayBoardLink.Open(path, signals);
            RecordingProcessor.CreateChain(file, chain);
            return file;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException or UnauthorizedAccessException)
        {
            file?.Dispose();
            string name = Path.GetFileName(path.TrimEnd('/'));
            string why = e.Message.Replace(path, shownName, StringComparison.Ordinal);
            foreach (string prefix in (string[])[$"{name} cannot be replayed: ", $"{name}: ", $"{shownName}: "])
            {
                why = why.StartsWith(prefix, StringComparison.Ordinal) ? why[prefix.Length..] : why;
            }
            throw new ReplayRefusedException($"{shownName} cannot be replayed: {why}", e);
        }
    }

    /// <summary>Starts replaying <paramref name="file"/> (a path inside the recordings folder).</summary>
    public async Task<ReplayState> StartAsync(string file, double speed, double startSeconds, IReadOnlyList<string>? signals = null)
    {
        if (!(speed == 0 || speed is >= MinSpeed and <= 1000))
        {
            throw Refuse($"speed: {speed} must be 0 (as fast as possible) or {MinSpeed} to 1000.");
        }
        if (file.Length is 0 or > 255 || file.Any(char.IsControl))
        {
            throw Refuse($"file: a recording's name is 1 to 255 printable characters (this one has {file.Length}).");
        }
        string path;
        try
        {
            path = folder.Resolve(file);
        }
        catch (Exception e) when (e is RecordingPathException or ArgumentException or IOException or UnauthorizedAccessException)
        {
            throw Refuse($"file: {e.Message}");
        }
        (double duration, IReadOnlyList<string> labels) = Describe(path, file, signals);
        CheckStart(startSeconds, duration, "start_seconds");
        var replay = new ReplayBoardLink(path, speed, time, startSeconds, signals);
        await SwitchAsync(replay).ConfigureAwait(false);
        return State(replay, duration, labels);
    }

    /// <summary>Moves the running replay to <paramref name="seconds"/> into its recording.</summary>
    public async Task<ReplayState> SeekAsync(double seconds)
    {
        ReplayBoardLink current = Current ?? throw new InvalidOperationException("No replay is running: start one first.");
        (double duration, IReadOnlyList<string> labels) = Describe(current.Path, Path.GetFileName(current.Path), current.Signals);
        CheckStart(seconds, duration, "seconds");
        var replay = new ReplayBoardLink(current.Path, current.Speed, time, seconds, current.Signals);
        await SwitchAsync(replay).ConfigureAwait(false);
        return State(replay, duration, labels);
    }

    /// <summary>Back to the station's board.</summary>
    public async Task StopAsync()
    {
        if (Current is null)
        {
            throw new InvalidOperationException("No replay is running.");
        }
        await link.SwitchToAsync(board).ConfigureAwait(false);
    }

    /// <summary>The slowest paced replay: a hundredth of real time.</summary>
    public const double MinSpeed = 0.01;

    /// <summary>Raised when a replay has played to its end and the station is back on its board.</summary>
    public event Action? ReturnedToBoard;

    private async Task SwitchAsync(ReplayBoardLink replay)
    {
        await link.SwitchToAsync(replay).ConfigureAwait(false);
        // At its end the station goes back to its board: it never sits on a finished replay showing its last values.
        _ = replay.Completion.ContinueWith(
            async _ =>
            {
                if (ReferenceEquals(link.Target, replay))
                {
                    await link.SwitchToAsync(board).ConfigureAwait(false);
                    ReturnedToBoard?.Invoke();
                }
            },
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private (double Duration, IReadOnlyList<string> Labels) Describe(string path, string shown, IReadOnlyList<string>? signals)
    {
        try
        {
            using RecordingFile f = Check(path, Path.GetFileName(shown.TrimEnd('/')) is { Length: > 0 } n ? n : shown, chain, signals);
            return (f.Instants / f.SampleRateHz, f.Labels);
        }
        catch (ReplayRefusedException e)
        {
            throw Refuse($"file: {e.Message}");
        }
    }

    private ReplayState State(ReplayBoardLink replay, double duration, IReadOnlyList<string> labels) =>
        new(Path.GetFileName(replay.Path), replay.Speed, replay.StartSeconds, duration, labels, link.Description);

    private ReplayRefusedException Refuse(string why)
    {
        Refused?.Invoke(why);
        return new ReplayRefusedException(why);
    }

    private void CheckStart(double seconds, double duration, string field)
    {
        if (!(seconds >= 0 && seconds < Math.Max(duration, double.Epsilon)))
        {
            throw Refuse($"{field}: {seconds} s is outside the recording (0 to {duration:0.###} s).");
        }
    }
}
