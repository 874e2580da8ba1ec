namespace EmgBiofeedback.TestSupport;

/// <summary>Polls a condition until a deadline: synchronisation by observation, never by sleeping.</summary>
public static class Eventually
{
    public static async Task TrueAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Waited {timeout.TotalSeconds:F0} s for {what}.");
            }
            await Task.Delay(20);
        }
    }
}
