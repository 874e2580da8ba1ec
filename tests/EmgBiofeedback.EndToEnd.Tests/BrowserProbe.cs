using System.Diagnostics;
using System.Text.Json;

namespace EmgBiofeedback.EndToEnd.Tests;

/// <summary>What the patient view showed at one instant (sampled every 100 ms in the page).</summary>
public readonly record struct PageSample(DateTimeOffset Time, string Link, int Showing, int NoSignal, double ArrivalAgeMs, double ComputedAgeMs);

/// <summary>
/// The patient view open in headless Debian chromium for the whole run (browser/patient-view-probe.mjs, node with
/// playwright-core from tests/EmgBiofeedback.Display.Tests): what it showed ten times a second and how late each frame
/// reached it and its bars.
/// </summary>
public sealed class BrowserProbe : IAsyncDisposable
{
    private readonly Process _node;
    private readonly List<PageSample> _samples = [];
    private readonly List<(DateTimeOffset Time, double ArrivedMs)> _arrived = [];
    private readonly List<(DateTimeOffset Time, double DrawnMs)> _drawn = [];
    private readonly List<string> _stderr = [];
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private BrowserProbe(Process node)
    {
        _node = node;
        node.OutputDataReceived += (_, e) => OnLine(e.Data);
        node.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_stderr)
                {
                    _stderr.Add(e.Data);
                }
            }
        };
        node.BeginOutputReadLine();
        node.BeginErrorReadLine();
        node.EnableRaisingEvents = true;
        node.Exited += (_, _) => _ready.TrySetException(new InvalidOperationException($"the browser probe ended ({node.ExitCode}): {Errors()}"));
    }

    public static string DisplayTestsFolder => Path.Combine(RepositoryPaths.Root, "tests", "EmgBiofeedback.Display.Tests");

    public static async Task<BrowserProbe> StartAsync(string pageUrl)
    {
        if (!File.Exists(Path.Combine(DisplayTestsFolder, "node_modules", "playwright-core", "package.json")))
        {
            // The suite's node tests need the same packages; install them as run-all.sh does.
            using Process npm = Process.Start(new ProcessStartInfo("npm", ["ci", "--no-audit", "--no-fund"]) { WorkingDirectory = DisplayTestsFolder, RedirectStandardOutput = true, RedirectStandardError = true })!;
            string log = await npm.StandardOutput.ReadToEndAsync() + await npm.StandardError.ReadToEndAsync();
            await npm.WaitForExitAsync();
            if (npm.ExitCode != 0)
            {
                throw new InvalidOperationException($"npm ci in {DisplayTestsFolder} failed: {log}");
            }
        }
        string script = Path.Combine(AppContext.BaseDirectory, "browser", "patient-view-probe.mjs");
        var start = new ProcessStartInfo("node", [script, pageUrl, DisplayTestsFolder])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        var probe = new BrowserProbe(Process.Start(start) ?? throw new InvalidOperationException("node did not start"));
        await probe._ready.Task.WaitAsync(TimeSpan.FromSeconds(90));
        return probe;
    }

    public string Errors()
    {
        lock (_stderr)
        {
            return string.Join('\n', _stderr.TakeLast(20));
        }
    }

    public IReadOnlyList<PageSample> Samples(DateTimeOffset from, DateTimeOffset to)
    {
        lock (_samples)
        {
            return _samples.Where(s => s.Time >= from && s.Time < to).ToArray();
        }
    }

    public (double[] Arrived, double[] Drawn) Latencies(DateTimeOffset from, DateTimeOffset to)
    {
        lock (_samples)
        {
            return (_arrived.Where(a => a.Time >= from && a.Time < to).Select(a => a.ArrivedMs).ToArray(),
                _drawn.Where(a => a.Time >= from && a.Time < to).Select(a => a.DrawnMs).ToArray());
        }
    }

    private void OnLine(string? line)
    {
        if (string.IsNullOrWhiteSpace(line) || line[0] != '{')
        {
            return;
        }
        using JsonDocument doc = JsonDocument.Parse(line);
        JsonElement o = doc.RootElement;
        switch (o.GetProperty("kind").GetString())
        {
            case "ready":
                _ready.TrySetResult();
                break;
            case "sample":
                lock (_samples)
                {
                    _samples.Add(new PageSample(DateTimeOffset.FromUnixTimeMilliseconds(o.GetProperty("t").GetInt64()), o.GetProperty("link").GetString() ?? "",
                        o.GetProperty("showing").GetInt32(), o.GetProperty("noSignal").GetInt32(), o.GetProperty("arrivalAgeMs").GetDouble(), o.GetProperty("computedAgeMs").GetDouble()));
                }
                break;
            case "latency":
                var t = DateTimeOffset.FromUnixTimeMilliseconds(o.GetProperty("t").GetInt64());
                lock (_samples)
                {
                    _arrived.AddRange(o.GetProperty("arrivedMs").EnumerateArray().Select(v => (t, v.GetDouble())));
                    _drawn.AddRange(o.GetProperty("drawnMs").EnumerateArray().Select(v => (t, v.GetDouble())));
                }
                break;
        }
    }

    private bool _disposed;

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        await ProcessExit.TerminateAsync(_node, TimeSpan.FromSeconds(15));
        _node.Dispose();
    }
}
