using Polly;
using Polly.Retry;

namespace EmgBiofeedback.History;

/// <summary>
/// The one retry policy for sending batches: transient outcomes only (server down, hung, 5xx, 429),
/// exponential backoff with jitter between History:RetryDelay and History:MaxRetryDelay.
/// </summary>
internal static class DeliveryRetry
{
    public static ResiliencePipeline<SendResult> Build(HistoryOptions options, int maxAttempts, Action<SendResult>? onRetry = null) =>
        new ResiliencePipelineBuilder<SendResult>()
            .AddRetry(new RetryStrategyOptions<SendResult>
            {
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Result.Outcome == SendOutcome.Transient),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryDelay,
                MaxDelay = options.MaxRetryDelay,
                MaxRetryAttempts = maxAttempts,
                OnRetry = args =>
                {
                    onRetry?.Invoke(args.Outcome.Result);
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
}
