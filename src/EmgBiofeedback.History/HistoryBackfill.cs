using EmgBiofeedback.Pipeline;
using Polly;

namespace EmgBiofeedback.History;

/// <summary>
/// Writes a recorded session (its frames replayed from the recording through the live signal chain) straight to
/// the server, for the CLI's back-fill command: the same encoder, tags (<see cref="HistorySeries"/>) and timestamps
/// (<see cref="SessionTimeline"/>) as the live writer, so it fills holes in the live history and overwrites what is
/// there, never adding a second copy. No spool: the recording is the durable copy, so a refusal throws and the
/// command can be run again; transient failures are retried with backoff. Re-running is safe: points overwrite.
/// </summary>
public static class HistoryBackfill
{
    /// <param name="session">The recording's session: id, patient code and station from its header, and its timeline (required).</param>
    /// <param name="labels">The recording's channel labels (the replayed frames may carry others).</param>
    /// <returns>Points written.</returns>
    public static async Task<long> WriteAsync(HistoryOptions options, HistorySession session, IReadOnlyList<string> labels,
        IEnumerable<ActivationFrame> frames, CancellationToken cancellationToken)
    {
        SessionTimeline timeline = session.Timeline
            ?? throw new ArgumentException("Back-fill needs the recording's timeline (HistorySession.Timeline).", nameof(session));
        using var transport = new InfluxTransport(options);
        var encoder = new LineProtocolEncoder(options.Station);
        ResiliencePipeline<SendResult> retry = DeliveryRetry.Build(options, maxAttempts: 10);
        using var batch = new LineBuffer(Math.Max(64 * 1024, options.BatchSize * 192));
        long written = 0;
        async Task FlushAsync()
        {
            SendResult result = await retry.ExecuteAsync(
                static (state, token) => new ValueTask<SendResult>(state.transport.SendAsync(state.batch, token)),
                (transport, batch), cancellationToken).ConfigureAwait(false);
            if (result.Outcome != SendOutcome.Delivered)
            {
                throw new InvalidOperationException($"Back-fill stopped after {written} points: HTTP {result.Status} {result.Outcome}: {result.Message}");
            }
            written += batch.Points;
            batch.Clear();
        }
        foreach (ActivationFrame frame in frames)
        {
            encoder.AppendActivation(batch, Relabelled(frame, labels), session, timeline.ToUnixNs(frame.SampleIndex));
            if (batch.Points >= options.BatchSize)
            {
                await FlushAsync().ConfigureAwait(false);
            }
        }
        if (batch.Points > 0)
        {
            await FlushAsync().ConfigureAwait(false);
        }
        return written;
    }

    private static ActivationFrame Relabelled(ActivationFrame frame, IReadOnlyList<string> labels)
    {
        var muscles = new MuscleActivation[frame.Muscles.Length];
        for (int i = 0; i < muscles.Length; i++)
        {
            MuscleActivation m = frame.Muscles[i];
            muscles[i] = m.Channel < labels.Count ? m with { Label = labels[m.Channel] } : m;
        }
        return new ActivationFrame
        {
            Sequence = frame.Sequence, SampleIndex = frame.SampleIndex, SampleTimeSeconds = frame.SampleTimeSeconds,
            ComputedAt = frame.ComputedAt, ComputedTimestamp = frame.ComputedTimestamp, Muscles = muscles,
        };
    }
}
