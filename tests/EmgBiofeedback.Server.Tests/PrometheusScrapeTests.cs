using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using EmgBiofeedback.Contracts.V1;
using Grpc.Core;
using Grpc.Net.Client;
using Status = EmgBiofeedback.Contracts.V1.Status;

namespace EmgBiofeedback.Server.Tests;

/// <summary>
/// The running service (simulated board, history on to a real server, one client streaming) scraped as Prometheus
/// scrapes it, between two GetStatus calls: the scrape must say what GetStatus says.
/// </summary>
public sealed class ScrapedStation : IAsyncLifetime
{
    private readonly CancellationTokenSource _stop = new();
    private GrpcChannel? _channel;
    private Task? _streaming;

    public VictoriaMetricsServer History { get; private set; } = null!;

    public ServerProcess Server { get; private set; } = null!;

    public Status Before { get; private set; } = null!;

    public PrometheusText Scrape { get; private set; } = null!;

    public PrometheusText OpenMetrics { get; private set; } = null!;

    public Status After { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        History = await VictoriaMetricsServer.StartAsync(scraper: true);
        string spool = Directory.CreateTempSubdirectory("emg-spool-").FullName;
        Server = ServerProcess.StartListening(
            "--History:Enabled=true", $"--History:Url={History.Url}", "--History:Org=clinic", "--History:Bucket=emg",
            "--History:Token=history-token-0123456789", $"--History:SpoolDirectory={spool}", "--History:FlushInterval=00:00:00.500");
        // The history server also scrapes the station, as Prometheus would, for the dashboard's queries.
        await History.ScrapeAsync(new Uri(Server.BrowserAddress).Authority, TimeSpan.FromSeconds(1));
        _channel = GrpcChannel.ForAddress(Server.Address);
        var live = new Live.LiveClient(_channel);
        AsyncServerStreamingCall<ActivationFrame> call = live.StreamActivation(new StreamActivationRequest(), cancellationToken: _stop.Token);
        _streaming = Task.Run(async () =>
        {
            using (call)
            {
                try
                {
                    while (await call.ResponseStream.MoveNext(_stop.Token))
                    {
                    }
                }
                catch (RpcException) when (_stop.IsCancellationRequested)
                {
                }
            }
        });

        // Frames have reached the client (delivery latency measured) and the history server has taken points.
        DateTime deadline = DateTime.UtcNow.AddSeconds(60);
        Status status;
        while (!((status = await live.GetStatusAsync(new GetStatusRequest())).DeliveryLatency.Count >= 50 && status.History?.PointsWritten > 0))
        {
            Assert.True(DateTime.UtcNow < deadline, $"no delivery latency or no history written within 60 s: {status}\n{Server.Log()}");
            await Task.Delay(100);
        }

        using var http = new HttpClient();
        // The history server scrapes /metrics too (every second): a request that arrives while its collection runs is
        // answered with that collection, taken just before our first GetStatus. Then the three are taken again.
        for (int attempt = 0; attempt < 5; attempt++)
        {
            Before = await live.GetStatusAsync(new GetStatusRequest());
            Scrape = new PrometheusText(await http.GetStringAsync(Server.BrowserAddress + "/metrics"));
            After = await live.GetStatusAsync(new GetStatusRequest());
            if (Scrape.Value("emg_acquisition_frames_total") >= Before.Counters.SampleFrames)
            {
                break;
            }
        }
        using var openMetrics = new HttpRequestMessage(HttpMethod.Get, Server.BrowserAddress + "/metrics");
        openMetrics.Headers.Accept.ParseAdd("application/openmetrics-text; version=1.0.0");
        using HttpResponseMessage response = await http.SendAsync(openMetrics);
        OpenMetrics = new PrometheusText(await response.EnsureSuccessStatusCode().Content.ReadAsStringAsync());
    }

    public async Task DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_streaming is not null)
        {
            await _streaming;
        }
        _channel?.Dispose();
        await Server.DisposeAsync();
        await History.DisposeAsync();
        _stop.Dispose();
    }
}

public partial class PrometheusScrapeTests(ScrapedStation station) : IClassFixture<ScrapedStation>
{
    private PrometheusText Scrape => station.Scrape;

    /// <summary>A count the scrape took between two GetStatus calls lies between their values.</summary>
    private void Between(string metric, Func<Status, ulong> read)
    {
        Assert.InRange(Scrape.Value(metric), read(station.Before), (double)read(station.After));
    }

    [Fact]
    public void The_scrape_has_every_loss_counter_GetStatus_reports_with_the_same_values()
    {
        Between("emg_acquisition_frames_total", s => s.Counters.SampleFrames);
        Between("emg_acquisition_lost_frames_total", s => s.Counters.LostFrames);
        Between("emg_acquisition_gaps_total", s => s.Counters.Gaps);
        Between("emg_acquisition_crc_errors_total", s => s.Counters.CrcErrors);
        Between("emg_acquisition_resyncs_total", s => s.Counters.Resyncs);
        Between("emg_acquisition_duplicates_total", s => s.Counters.Duplicates);
        Between("emg_acquisition_malformed_frames_total", s => s.Counters.MalformedFrames);
        Between("emg_acquisition_discarded_bytes_total", s => s.Counters.DiscardedBytes);
        Between("emg_acquisition_reconnects_total", s => s.Counters.Reconnects);
        Between("emg_live_dropped_subscriber_frames_total", s => s.Counters.DroppedSubscriberFrames);
        Between("emg_recorder_annotations_lost_total", s => s.AnnotationsLost);
        Between("emg_history_points_written_total", s => s.History.PointsWritten);
        Between("emg_history_points_dropped_total", s => s.History.PointsDropped);
        Assert.True(Scrape.Value("emg_acquisition_frames_total") > 0);
        Assert.True(Scrape.Value("emg_history_points_written_total") > 0);

        // Counts GetStatus does not carry: the simulated board loses nothing, the history server takes every batch.
        Assert.Equal(0, Scrape.Value("emg_acquisition_frames_before_hello_total"));
        Assert.Equal(0, Scrape.Value("emg_acquisition_board_restarts_total"));
        Assert.Equal(0, Scrape.Value("emg_acquisition_board_overflow_total"));
        Assert.Equal(0, Scrape.Value("emg_history_write_failures_total"));
        Assert.True(Scrape.Value("emg_history_points_spooled_total") >= Scrape.Value("emg_history_points_written_total"));
        Assert.InRange(Scrape.Value("emg_history_points_pending"), 0, Scrape.Value("emg_history_points_spooled_total"));
        Assert.All(Scrape.Samples.Where(s => s.Name.EndsWith("_total", StringComparison.Ordinal) && s.Name.StartsWith("emg_", StringComparison.Ordinal)),
            s => Assert.Equal("counter", station.Scrape.Types[s.Name]));
    }

    [Fact]
    public void The_scrape_reports_the_source_the_streams_and_the_history_writer_as_GetStatus_does()
    {
        Status status = station.Before;
        Assert.Equal(1, Scrape.Value("emg_acquisition_connected"));
        Assert.Equal(status.Board.SampleRateHz, Scrape.Value("emg_acquisition_sample_rate_hertz"));
        Assert.Equal(status.Board.ChannelCount, Scrape.Value("emg_acquisition_channels"));
        Assert.Equal(1, Scrape.Value("emg_acquisition_source", "kind", "simulated_board"));
        Assert.Equal(0, Scrape.Value("emg_acquisition_source", "kind", "serial_board"));
        Assert.Equal(status.ActivationRateHz, Scrape.Value("emg_live_activation_rate_hertz"));
        // The test's stream and the history writer's subscription.
        Assert.Equal(2u, status.ActivationSubscribers);
        Assert.Equal(status.ActivationSubscribers, Scrape.Value("emg_live_activation_subscribers"));

        Assert.Equal(status.History.SpoolMaxBytes, Scrape.Value("emg_history_spool_limit_bytes"));
        Assert.InRange(Scrape.Value("emg_history_spool_bytes"), 0, status.History.SpoolMaxBytes);
        Assert.Equal(status.History.State, station.After.History.State);
        Assert.Equal(1, Scrape.Value("emg_history_state", "state", status.History.State));
        Assert.Equal(1, Scrape.Named("emg_history_state").Sum(s => s.Value)); // one state at a time
        Assert.Equal(0, Scrape.Value("emg_session_active"));
    }

    [Fact]
    public void Latency_is_a_histogram_with_buckets_beside_the_delivery_latency_GetStatus_summarises()
    {
        // Every histogram the meter carries, whoever records it, is a well-formed Prometheus histogram.
        string[] histograms = Scrape.Histograms.ToArray();
        Assert.Contains("emg_history_write_duration_milliseconds", histograms);
        foreach (string histogram in histograms)
        {
            PrometheusText.Sample[] buckets = Scrape.Named(histogram + "_bucket").ToArray();
            Assert.True(buckets.Length > 2, $"{histogram} has {buckets.Length} buckets");
            double[] bounds = buckets.Select(b => PrometheusText.Number(b.Labels["le"])).ToArray();
            Assert.Equal(bounds.Order(), bounds);
            Assert.Equal(double.PositiveInfinity, bounds[^1]);
            Assert.Equal(buckets.Select(b => b.Value).Order(), buckets.Select(b => b.Value)); // cumulative
            Assert.Equal(Scrape.Value(histogram + "_count"), buckets[^1].Value);
            Assert.True(Scrape.Value(histogram + "_sum") >= 0);
        }
        Assert.True(Scrape.Value("emg_history_write_duration_milliseconds_count") >= 1, "the history writer's requests were timed");

        // The delivery latency GetStatus summarises (its ring of recent writes): the same three figures.
        Assert.True(station.Before.DeliveryLatency.Count > 0);
        double p50 = Scrape.Value("emg_latency_delivery_recent_milliseconds", "quantile", "0.5");
        double p99 = Scrape.Value("emg_latency_delivery_recent_milliseconds", "quantile", "0.99");
        double max = Scrape.Value("emg_latency_delivery_recent_milliseconds", "quantile", "1");
        Assert.True(p50 > 0 && p50 <= p99 && p99 <= max, $"p50 {p50}, p99 {p99}, max {max}");
        Assert.InRange(max, 0, Math.Max(station.Before.DeliveryLatency.MaxMs, station.After.DeliveryLatency.MaxMs));
    }

    [Fact]
    public void Every_metric_has_help_text_and_its_unit_in_its_name()
    {
        string[] families = Scrape.Types.Keys.Where(n => n.StartsWith("emg_", StringComparison.Ordinal)).ToArray();
        Assert.True(families.Length >= 30, $"{families.Length} emg_ metrics");
        Assert.All(families, family => Assert.False(string.IsNullOrWhiteSpace(Scrape.Help.GetValueOrDefault(family)), $"{family} has no # HELP"));
        Assert.Contains("emg_acquisition_sample_rate_hertz", families);
        Assert.Contains("emg_history_spool_bytes", families);
        Assert.Contains("emg_latency_delivery_recent_milliseconds", families);
        Assert.Contains("emg_acquisition_discarded_bytes_total", families);

        // OpenMetrics carries the unit in a line of its own, as Grafana and Prometheus 3 read it.
        Assert.Equal("milliseconds", station.OpenMetrics.Units["emg_history_write_duration_milliseconds"]);
        Assert.Equal("bytes", station.OpenMetrics.Units["emg_history_spool_bytes"]);
        Assert.Equal("hertz", station.OpenMetrics.Units["emg_acquisition_sample_rate_hertz"]);
    }

    [Fact]
    public async Task The_Grafana_dashboard_queries_only_metrics_the_scrape_has_and_every_query_parses()
    {
        string path = Path.Combine(RepositoryPaths.Root, "docs", "grafana", "emg-station.json");
        using JsonDocument dashboard = JsonDocument.Parse(await File.ReadAllTextAsync(path));
        JsonElement root = dashboard.RootElement;
        using JsonDocument history = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(RepositoryPaths.Root, "docs", "grafana", "emg-history.json")));
        Assert.NotEqual(history.RootElement.GetProperty("uid").GetString(), root.GetProperty("uid").GetString()); // both can be imported

        JsonElement[] panels = root.GetProperty("panels").EnumerateArray().ToArray();
        Assert.Equal(panels.Length, panels.Select(p => p.GetProperty("id").GetInt32()).Distinct().Count());
        var queries = new List<string>();
        foreach (JsonElement panel in panels.Where(p => p.GetProperty("type").GetString() != "row"))
        {
            Assert.Equal("${datasource}", panel.GetProperty("datasource").GetProperty("uid").GetString());
            JsonElement[] targets = panel.GetProperty("targets").EnumerateArray().ToArray();
            Assert.NotEmpty(targets);
            queries.AddRange(targets.Select(t => t.GetProperty("expr").GetString()!));
        }
        string[] variables = root.GetProperty("templating").GetProperty("list").EnumerateArray()
            .Where(v => v.GetProperty("type").GetString() == "query").Select(v => v.GetProperty("definition").GetString()!).ToArray();

        // Every metric a query names is in a real scrape of the running service (a histogram by its _bucket series).
        var scraped = Scrape.Samples.Select(s => s.Name).ToHashSet();
        string[] named = queries.Concat(variables).SelectMany(q => MetricName().Matches(q).Select(m => m.Value)).Distinct().ToArray();
        Assert.All(named, name => Assert.True(scraped.Contains(name), $"the dashboard queries {name}, which the service does not export"));
        foreach (string[] required in new[]
        {
            new[] { "emg_acquisition_frames_total", "emg_live_activation_subscribers", "emg_history_spool_bytes", "emg_history_points_pending" },
            LossCounters,
        })
        {
            Assert.All(required, name => Assert.Contains(name, named));
        }
        Assert.Contains(queries, q => q.Contains("histogram_quantile(", StringComparison.Ordinal) && q.Contains("_bucket", StringComparison.Ordinal));

        // Every query parses as PromQL and shows data: VictoriaMetrics scrapes the station every second, as Prometheus
        // would, and answers each query as Grafana would ask it (with the station variable at "All").
        DateTime deadline = DateTime.UtcNow.AddSeconds(60);
        foreach (string query in queries)
        {
            string promql = query.Replace("$__rate_interval", "1m", StringComparison.Ordinal).Replace("$instance", ".*", StringComparison.Ordinal);
            JsonElement[] series;
            while ((series = await station.History.QueryAsync(promql)).Length == 0)
            {
                Assert.True(DateTime.UtcNow < deadline, $"no data for {promql} within 60 s of scraping");
                await Task.Delay(250);
            }
        }
    }

    /// <summary>Every loss the service counts, as Prometheus names it.</summary>
    private static readonly string[] LossCounters =
    [
        "emg_acquisition_lost_frames_total", "emg_acquisition_gaps_total", "emg_acquisition_crc_errors_total", "emg_acquisition_resyncs_total",
        "emg_acquisition_duplicates_total", "emg_acquisition_malformed_frames_total", "emg_acquisition_discarded_bytes_total",
        "emg_acquisition_frames_before_hello_total", "emg_acquisition_reconnects_total", "emg_acquisition_board_restarts_total",
        "emg_acquisition_board_overflow_total", "emg_live_dropped_subscriber_frames_total", "emg_recorder_annotations_lost_total",
        "emg_history_points_dropped_total",
    ];

    [GeneratedRegex(@"\bemg_[a-z0-9_]+\b")]
    private static partial Regex MetricName();

    [Fact]
    public async Task Metrics_are_served_on_the_browser_port_only_never_on_the_gRPC_port()
    {
        using var http = new HttpClient();
        using var onGrpcPort = new HttpRequestMessage(HttpMethod.Get, station.Server.Address + "/metrics")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact, // the gRPC port speaks HTTP/2 only
        };
        using HttpResponseMessage response = await http.SendAsync(onGrpcPort);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);

        Assert.Contains($"Prometheus metrics on {station.Server.BrowserAddress}/metrics (from this machine, no token)", station.Server.Log(), StringComparison.Ordinal);
    }
}
