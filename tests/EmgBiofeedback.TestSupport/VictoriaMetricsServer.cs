using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace EmgBiofeedback.TestSupport;

/// <summary>
/// A real server that speaks InfluxDB's v2 write API: Debian's victoria-metrics, on a free loopback port with a
/// data folder of its own. Can be stopped and started again on the same port and data (the outage test). Started as a
/// scraper, it also scrapes Prometheus targets as Prometheus does and answers PromQL queries on what it scraped.
/// </summary>
public sealed class VictoriaMetricsServer : IAsyncDisposable
{
    public const string Binary = "/usr/bin/victoria-metrics";
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "vm-" + Guid.NewGuid().ToString("N"));
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private Process? _process;
    private bool _scraper;

    private string ScrapeConfig => Path.Combine(_dataDir, "scrape.yml");

    public int Port { get; } = FreePorts.Next();

    public string Url => $"http://127.0.0.1:{Port}";

    public static async Task<VictoriaMetricsServer> StartAsync(bool scraper = false)
    {
        if (!File.Exists(Binary))
        {
            throw new InvalidOperationException($"{Binary} is missing: install Debian's victoria-metrics (tests/run-all.sh does: apt-get install -y victoria-metrics).");
        }
        var server = new VictoriaMetricsServer { _scraper = scraper };
        await server.StartAgainAsync();
        return server;
    }

    public async Task StartAgainAsync()
    {
        var psi = new ProcessStartInfo(Binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add($"-storageDataPath={_dataDir}");
        psi.ArgumentList.Add($"-httpListenAddr=127.0.0.1:{Port}");
        psi.ArgumentList.Add("-retentionPeriod=100y");
        psi.ArgumentList.Add("-loggerLevel=ERROR");
        if (_scraper)
        {
            Directory.CreateDirectory(_dataDir);
            if (!File.Exists(ScrapeConfig))
            {
                await File.WriteAllTextAsync(ScrapeConfig, "scrape_configs: []\n");
            }
            psi.ArgumentList.Add($"-promscrape.config={ScrapeConfig}");
            psi.ArgumentList.Add("-promscrape.configCheckInterval=1s"); // ScrapeAsync's targets are taken within a second
            psi.ArgumentList.Add("-search.latencyOffset=1s"); // a query sees what was scraped a second ago (default 30 s)
            psi.ArgumentList.Add("-search.disableCache");
        }
        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        await Eventually.TrueAsync(() => IsHealthy(), TimeSpan.FromSeconds(30), "victoria-metrics to answer /health");
    }

    private bool IsHealthy()
    {
        try
        {
            return _http.GetStringAsync($"{Url}/health").GetAwaiter().GetResult().Trim() == "OK";
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    /// <summary>Stops the server gracefully (SIGTERM), as an operator or a crash-free restart would.</summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false } p)
        {
            using (Process kill = Process.Start("kill", ["-TERM", p.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await p.WaitForExitAsync(cts.Token);
        }
    }

    /// <summary>Scrapes <paramref name="target"/> ("host:port", path /metrics) every <paramref name="interval"/> from now on.</summary>
    public Task ScrapeAsync(string target, TimeSpan interval)
    {
        if (!_scraper)
        {
            throw new InvalidOperationException("Start the server with scraper: true to scrape.");
        }
        string seconds = interval.TotalSeconds.ToString(CultureInfo.InvariantCulture);
        return File.WriteAllTextAsync(ScrapeConfig,
            $"scrape_configs:\n  - job_name: emg-station\n    scrape_interval: {seconds}s\n    static_configs:\n      - targets: [\"{target}\"]\n");
    }

    /// <summary>A PromQL instant query: the result's series (an empty array when nothing matches). Throws on a query that does not parse.</summary>
    public async Task<JsonElement[]> QueryAsync(string promql)
    {
        using HttpResponseMessage response = await _http.GetAsync($"{Url}/api/v1/query?query={Uri.EscapeDataString(promql)}");
        string body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"{promql}: HTTP {(int)response.StatusCode} {body}");
        }
        using JsonDocument doc = JsonDocument.Parse(body);
        return doc.RootElement.GetProperty("data").GetProperty("result").EnumerateArray().Select(e => e.Clone()).ToArray();
    }

    /// <summary>Makes the server write what it holds in memory to disk (it answers writes before they are there).</summary>
    public async Task FlushAsync()
    {
        using (await _http.GetAsync($"{Url}/internal/force_flush")) { }
    }

    /// <summary>Kills the server (SIGKILL), as a crash or the OOM killer would: no flush, no goodbye.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } p)
        {
            p.Kill();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await p.WaitForExitAsync(cts.Token);
        }
    }

    /// <summary>Every stored sample (export stops at "now" unless told otherwise; fast-fed sessions run ahead of it) of <paramref name="metric"/>, per series (labels), sorted by time.</summary>
    public async Task<List<Series>> ExportAsync(string metric)
    {
        using (await _http.GetAsync($"{Url}/internal/force_flush")) { }
        string body = await _http.GetStringAsync($"{Url}/api/v1/export?match[]={Uri.EscapeDataString(metric)}&start=0&end=4102444800");
        var result = new List<Series>();
        foreach (string line in body.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using JsonDocument doc = JsonDocument.Parse(line);
            var labels = doc.RootElement.GetProperty("metric").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
            double[] values = doc.RootElement.GetProperty("values").EnumerateArray().Select(v => v.ValueKind == JsonValueKind.String
                ? double.Parse(v.GetString()!, CultureInfo.InvariantCulture) : v.GetDouble()).ToArray();
            long[] times = doc.RootElement.GetProperty("timestamps").EnumerateArray().Select(v => v.GetInt64()).ToArray();
            result.Add(new Series(labels, times, values));
        }
        return result;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _process?.Dispose();
        _http.Dispose();
        try
        {
            Directory.Delete(_dataDir, recursive: true);
        }
        catch (IOException)
        {
            // a leftover temp folder is harmless
        }
    }
}

public sealed record Series(Dictionary<string, string> Labels, long[] TimestampsMs, double[] Values);
