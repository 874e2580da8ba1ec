using Microsoft.Extensions.Logging;

namespace EmgBiofeedback.History;

internal static partial class HistoryLog
{
    [LoggerMessage(1, LogLevel.Information, "History to {Url} (org {Org}, bucket {Bucket}, station {Station}); spool {SpoolDirectory} holds {SpoolBatches} batches from before")]
    public static partial void Started(ILogger logger, string url, string org, string bucket, string station, string spoolDirectory, int spoolBatches);

    [LoggerMessage(2, LogLevel.Warning, "History server unavailable ({Status} {Reason}); spooling to disk and retrying with backoff")]
    public static partial void Unavailable(ILogger logger, int status, string reason);

    [LoggerMessage(3, LogLevel.Information, "History server reachable again; delivered the spooled backlog")]
    public static partial void Recovered(ILogger logger);

    [LoggerMessage(4, LogLevel.Critical, "History write refused with HTTP {Status}: {Hint} Points are kept in the spool ({SpoolDirectory}); next attempt in {ProbeInterval}. Server said: {Reason}")]
    public static partial void Refused(ILogger logger, int status, string hint, string spoolDirectory, TimeSpan probeInterval, string reason);

    [LoggerMessage(5, LogLevel.Error, "History batch {Sequence} ({Points} points) rejected as malformed (HTTP {Status}); moved to the spool's rejected/ folder. Server said: {Reason}")]
    public static partial void Malformed(ILogger logger, long sequence, int points, int status, string reason);

    [LoggerMessage(6, LogLevel.Critical, "History spool FULL ({SpoolBytes} of {SpoolMaxBytes} bytes): {Points} points DROPPED. Raise History:SpoolMaxBytes or fix the server; back-fill the session from its recording")]
    public static partial void SpoolFull(ILogger logger, long spoolBytes, long spoolMaxBytes, int points);

    [LoggerMessage(7, LogLevel.Warning, "History stopping with {Points} points in {Batches} spooled batches; they are sent on next start")]
    public static partial void StoppedWithBacklog(ILogger logger, long points, int batches);

    [LoggerMessage(8, LogLevel.Warning, "History: {Points} points in {Batches} batches were still being written to the spool when the previous writer stopped without shutting down (killed or crashed); recovered from the spool and sent now")]
    public static partial void RecoveredAfterKill(ILogger logger, long points, int batches);

    [LoggerMessage(9, LogLevel.Critical, "History spool {SpoolDirectory} cannot be written ({Reason}): points go on from memory only, and a kill or an outage loses them. Fix the folder (space, permission) or History:SpoolDirectory")]
    public static partial void SpoolUnwritable(ILogger logger, string spoolDirectory, string reason);

    [LoggerMessage(10, LogLevel.Critical, "History: {Points} points DROPPED: the spool ({SpoolDirectory}) could not keep them and they could not be delivered from memory; back-fill the session from its recording")]
    public static partial void DroppedUnspooled(ILogger logger, int points, string spoolDirectory);
}
