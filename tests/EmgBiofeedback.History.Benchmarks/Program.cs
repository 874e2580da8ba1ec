using System.Diagnostics;
using System.Globalization;
using System.Threading.Channels;
using EmgBiofeedback.Dsp;
using EmgBiofeedback.History;
using EmgBiofeedback.Pipeline;
using EmgBiofeedback.TestSupport;
using InfluxDB.Client;
using InfluxDB.Client.Api.Domain;
using InfluxDB.Client.Writes;
using Microsoft.Extensions.Logging.Abstractions;
using EmgBiofeedback.Sessions;

// Sustained throughput of the history writer into a real server speaking InfluxDB's v2 write API
// (Debian's victoria-metrics on loopback), beside InfluxDB.Client's own WriteApi + PointData with the
// same points and batch size, in the same run. Figures: points/s from the first point handed over until
// the server acknowledged the last; this process's CPU per 1,000 points/s; bytes allocated per point.
//   dotnet run -c Release --project tests/EmgBiofeedback.History.Benchmarks -- [frames=250000]
int frames = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 250_000;
const int Muscles = 8;
string[] labels = ["SCM L", "SCM R", "UT L", "UT R", "SPL L", "SPL R", "LS L", "LS R"];

await using VictoriaMetricsServer server = await VictoriaMetricsServer.StartAsync();
ActivationFrame[] data = BuildFrames(frames);
Console.WriteLine($"{frames:N0} frames x {Muscles} muscles = {frames * Muscles:N0} points per writer, batch 5000, gzip off");
Console.WriteLine("| writer | points/s | CPU (cores) | CPU per 1,000 points/s | allocated per point |");
Console.WriteLine("|---|---|---|---|---|");
Console.WriteLine(await Measure("InfluxDB.Client WriteApi + PointData (baseline)", () => WriteApiBaseline(server.Url, data)));
Console.WriteLine(await Measure("HistoryService (pooled line protocol, WriteService bytes, spool)", () => Ours(server.Url, data)));

async Task<string> Measure(string name, Func<Task> run)
{
    GC.Collect();
    var process = Process.GetCurrentProcess();
    TimeSpan cpu0 = process.TotalProcessorTime;
    long alloc0 = GC.GetTotalAllocatedBytes(precise: true);
    var wall = Stopwatch.StartNew();
    await run();
    double seconds = wall.Elapsed.TotalSeconds;
    process.Refresh();
    double cores = (process.TotalProcessorTime - cpu0).TotalSeconds / seconds;
    double points = (double)frames * Muscles;
    double perSecond = points / seconds;
    double allocated = (GC.GetTotalAllocatedBytes(precise: true) - alloc0) / points;
    return string.Create(CultureInfo.InvariantCulture,
        $"| {name} | {perSecond:N0} | {cores:F2} | {cores / (perSecond / 1000):F4} | {allocated:F1} B |");
}

async Task Ours(string url, ActivationFrame[] frames)
{
    var options = new HistoryOptions
    {
        Enabled = true, Url = url, Org = "emg", Bucket = "bench", Token = "bench-token-0123456789", Station = "bench",
        BatchSize = 5000, FlushInterval = TimeSpan.FromMilliseconds(200), SpoolFsync = SpoolFsyncPolicy.Never,
        SpoolDirectory = Directory.CreateTempSubdirectory("emg-bench-spool").FullName,
    };
    var channel = Channel.CreateUnbounded<ActivationFrame>();
    await using var service = new HistoryService(options, new FixedSessionProvider(new HistorySession("bench-ours", "P-1")), NullLogger<HistoryService>.Instance);
    using var stop = new CancellationTokenSource();
    Task run = service.RunAsync(channel.Reader, stop.Token);
    foreach (ActivationFrame f in frames)
    {
        channel.Writer.TryWrite(f);
    }
    channel.Writer.Complete();
    while (service.PointsWritten < (long)frames.Length * Muscles)
    {
        await Task.Delay(5);
    }
    await stop.CancelAsync();
    try { await run; } catch (OperationCanceledException) { }
}

async Task WriteApiBaseline(string url, ActivationFrame[] frames)
{
    using var client = new InfluxDBClient(url, "bench-token-0123456789");
    var done = new TaskCompletionSource();
    using (WriteApi write = client.GetWriteApi(new WriteOptions { BatchSize = 5000, FlushInterval = 200 }))
    {
        long start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds() * 1_000_000;
        foreach (ActivationFrame f in frames)
        {
            long ns = start + f.SampleIndex * 1_000_000;
            foreach (MuscleActivation m in f.Muscles)
            {
                string[] parts = m.Label.Split(' ');
                write.WritePoint(PointData.Measurement("activation")
                    .Tag("station", "bench").Tag("session", "bench-baseline").Tag("patient", "P-1")
                    .Tag("muscle", parts[0]).Tag("side", parts.Length > 1 ? parts[1] : "none")
                    .Field("rms_uv", (double)m.RmsMicrovolts).Field("in_target", false).Field("quality", (long)m.Quality).Field("valid", m.Valid)
                    .Timestamp(ns, WritePrecision.Ns), "bench", "emg");
            }
        }
    } // Dispose flushes what is queued and waits for it
    await Task.CompletedTask;
}

ActivationFrame[] BuildFrames(int count)
{
    var rng = new Random(1);
    DateTimeOffset t0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    var result = new ActivationFrame[count];
    for (int i = 0; i < count; i++)
    {
        var muscles = new MuscleActivation[Muscles];
        for (int c = 0; c < Muscles; c++)
        {
            muscles[c] = new MuscleActivation(c, labels[c], (float)(5 + 200 * rng.NextDouble()), null, TargetState.Unspecified, SignalQualityFlags.None, true);
        }
        long index = 19 + 20L * i;
        result[i] = new ActivationFrame
        {
            Sequence = (ulong)i + 1, SampleIndex = index, SampleTimeSeconds = index / 1000.0,
            ComputedAt = t0.AddMilliseconds(index), ComputedTimestamp = 0, Muscles = muscles,
        };
    }
    return result;
}
