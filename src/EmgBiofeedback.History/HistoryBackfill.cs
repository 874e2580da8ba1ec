using EmgBiofeedback.Pipeline;
using Polly;

namespace EmgBiofeedback.History;

/// <summary>
/// Writes a past session (e.g. frames replayed from its recording) straight to the server, for the CLI's
/// back-fill command. No spool: the recording is the durable copy, so a refusal throws and the command can be
/// run again; transient failures are retried with backoff. Re-running is safe: points overwrite.
/// </summary>
public static class HistoryBackfill
{
    /// <param name="wallAtSampleTimeZero">Wall-clock time of sample time 0 (the recording's start).</param>
    /// <returns>Points written.</returns>
    public static async Task<long> WriteAsync(HistoryOptions options, HistorySession session, DateTimeOffset wallAtSampleTimeZero,
        IEnumerable<ActivationFrame> frames, CancellationToken cancellationToken)
    {
        using var transport = new InfluxTransport(options);
        var encoder = new LineProtocolEncoder(options.Station);
        SampleClock clock = SampleClock.Fixed(wallAtSampleTimeZero);
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
            encoder.AppendActivation(batch, frame, session, clock.ToUnixNanoseconds(frame.SampleTimeSeconds, frame.ComputedAt));
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
}
