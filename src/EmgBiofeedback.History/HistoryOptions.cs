using Microsoft.Extensions.Options;

namespace EmgBiofeedback.History;

/// <summary>When the spool forces its files to the disk.</summary>
public enum SpoolFsyncPolicy
{
    /// <summary>Every batch is flushed to the device when it is complete in the spool: survives power loss (all but the batch being filled), costs one fsync per batch.</summary>
    EveryBatch,

    /// <summary>The OS writes back when it likes (seconds): survives a process crash, not a power cut.</summary>
    Never,
}

/// <summary>Section "History": where activation history goes (an InfluxDB v2 write API) and how it is kept safe.</summary>
public sealed class HistoryOptions
{
    public const string SectionName = "History";

    /// <summary>Off by default: without history everything else works.</summary>
    public bool Enabled { get; set; }

    /// <summary>Base URL of InfluxDB 2.x / 3.x / Cloud (anything that serves /api/v2/write), e.g. http://127.0.0.1:8086.</summary>
    public string Url { get; set; } = "";

    public string Org { get; set; } = "";

    public string Bucket { get; set; } = "";

    /// <summary>API token. Prefer the environment (History__Token) or <see cref="TokenFile"/>; never logged.</summary>
    public string? Token { get; set; }

    /// <summary>Path of a secrets file holding the token (first line, trimmed); used when <see cref="Token"/> is empty.</summary>
    public string? TokenFile { get; set; }

    /// <summary>This station's name, the <c>station</c> tag of every point. The service sets it from Recording:Station (one
    /// name for the station, the one its recordings carry); the offline back-fill from the recording's header.</summary>
    public string Station { get; set; } = Environment.MachineName;

    /// <summary>Points per write request. 5,000 is InfluxData's recommended batch size.</summary>
    public int BatchSize { get; set; } = 5000;

    /// <summary>A partial batch is sent after this long, so a live session reaches the server within about a second.</summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Gzip request bodies: pays on slow remote links, halves throughput on a LAN.</summary>
    public bool Gzip { get; set; }

    /// <summary>Request timeout; a timed-out batch stays in the spool and is resent (safe: same series and timestamp overwrite).</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    public string SpoolDirectory { get; set; } = Path.Combine(Path.GetTempPath(), "emg-history-spool");

    /// <summary>Bound of the spool on disk: 1 GiB holds about 2 days of 8 muscles at 50 Hz.</summary>
    public long SpoolMaxBytes { get; set; } = 1L << 30;

    public SpoolFsyncPolicy SpoolFsync { get; set; } = SpoolFsyncPolicy.EveryBatch;

    /// <summary>First retry delay after a transient failure; doubles (with jitter) up to <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>After a rejection that will not heal by itself (401, 403, 404), try again only this often.</summary>
    public TimeSpan RejectedProbeInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The token from <see cref="Token"/> or <see cref="TokenFile"/>.</summary>
    public string ResolveToken() =>
        !string.IsNullOrWhiteSpace(Token) ? Token.Trim()
        : !string.IsNullOrWhiteSpace(TokenFile) ? (File.ReadLines(TokenFile).FirstOrDefault() ?? "").Trim()
        : "";

    public override string ToString() => $"History {(Enabled ? "on" : "off")}: {Url} org {Org} bucket {Bucket} station {Station}";
}

/// <summary>Checks <see cref="HistoryOptions"/>; each message names the setting.</summary>
public sealed class HistoryOptionsValidator : IValidateOptions<HistoryOptions>
{
    public ValidateOptionsResult Validate(string? name, HistoryOptions o)
    {
        if (!o.Enabled)
        {
            return ValidateOptionsResult.Success;
        }
        var failures = new List<string>();
        if (!Uri.TryCreate(o.Url, UriKind.Absolute, out Uri? url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
        {
            failures.Add($"History:Url must be an absolute http(s) URL such as http://127.0.0.1:8086 (was '{o.Url}').");
        }
        if (string.IsNullOrWhiteSpace(o.Org))
        {
            failures.Add("History:Org is required (InfluxDB 3.x ignores it, but the v2 write API needs a value).");
        }
        if (string.IsNullOrWhiteSpace(o.Bucket))
        {
            failures.Add("History:Bucket is required (for InfluxDB 3.x: the database name).");
        }
        if (string.IsNullOrWhiteSpace(o.Token))
        {
            if (string.IsNullOrWhiteSpace(o.TokenFile))
            {
                failures.Add("History:Token (or the environment variable History__Token) or History:TokenFile is required.");
            }
            else if (!File.Exists(o.TokenFile))
            {
                failures.Add($"History:TokenFile '{o.TokenFile}' does not exist.");
            }
        }
        if (string.IsNullOrWhiteSpace(o.Station))
        {
            failures.Add("History:Station must name this station.");
        }
        if (o.BatchSize is < 1 or > 100_000)
        {
            failures.Add($"History:BatchSize must be 1-100000 points (was {o.BatchSize}).");
        }
        if (o.FlushInterval < TimeSpan.FromMilliseconds(10) || o.FlushInterval > TimeSpan.FromMinutes(1))
        {
            failures.Add($"History:FlushInterval must be 10 ms to 1 min (was {o.FlushInterval}).");
        }
        if (o.RequestTimeout < TimeSpan.FromMilliseconds(100))
        {
            failures.Add($"History:RequestTimeout must be at least 100 ms (was {o.RequestTimeout}).");
        }
        if (string.IsNullOrWhiteSpace(o.SpoolDirectory))
        {
            failures.Add("History:SpoolDirectory is required: the spool is what makes an outage lose nothing.");
        }
        if (o.SpoolMaxBytes < 1 << 20)
        {
            failures.Add($"History:SpoolMaxBytes must be at least 1 MiB (was {o.SpoolMaxBytes}).");
        }
        if (o.RetryDelay <= TimeSpan.Zero || o.MaxRetryDelay < o.RetryDelay)
        {
            failures.Add("History:RetryDelay must be positive and History:MaxRetryDelay at least as long.");
        }
        if (o.RejectedProbeInterval < TimeSpan.FromSeconds(1))
        {
            failures.Add("History:RejectedProbeInterval must be at least 1 s.");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
