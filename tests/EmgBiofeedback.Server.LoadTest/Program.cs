using System.Diagnostics;
using System.Globalization;
using EmgBiofeedback.Contracts.V1;
using EmgBiofeedback.TestSupport;
using Grpc.Core;
using Grpc.Net.Client;

// Starts the real service (simulated board) on free loopback ports, then for each subscriber count opens
// that many StreamActivation streams (50 per HTTP/2 connection, half Kestrel's default stream limit) and
// measures, per delivered frame, the time from the envelope's computation (computed_at, server wall
// clock) to the client's receipt (same machine, same clock); plus the service's own figures from GetStatus
// (envelope computed -> handed to the stream, and arrival of the frame's last sample -> handed to the stream,
// both over the last 10-20 s), its CPU and its memory. Each row runs against a fresh service process, once per
// encoding: "per-subscriber" (Live:SharedEncoding=false, the frame serialised for each subscriber), "shared"
// (encoded once per tick, each stream with its queue and its task; Live:WriteLoop=false) and "write-loop" (encoded once
// per tick, every stream written from one loop per frame; the default), one after the other for each count, so all see
// the same machine. Usage:
// client-nice (default 0) lowers the load client's own CPU priority (Linux nice, 0 to 19) once each service has started,
// the service keeping its own: the subscribers then stand in for displays on their own devices, as in a clinic, rather
// than for a thousand clients competing with the service for the same 2 cores.
// The client's own garbage collections (a thousand streams each parsing 50 frames a second) take about a core of the two
// with the default gen0 budget; DOTNET_GCgen0size=0x10000000 in the tool's environment cuts that to a quarter of a core.
// The tool removes the variable from the service's environment: the service runs with its own settings.
//   dotnet run -c Release --project tests/EmgBiofeedback.Server.LoadTest -- [seconds=20] [counts=1,10,100,1000] [encodings=per-subscriber,shared,write-loop] [client-nice=0]
int seconds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 20;
int[] counts = args.Length > 1 ? args[1].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray() : [1, 10, 100, 1000];
string[] encodings = args.Length > 2 ? args[2].Split(',') : ["per-subscriber", "shared", "write-loop"];
int clientNice = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 0;
if (clientNice is < 0 or > 19)
{
    Console.Error.WriteLine($"client-nice: {clientNice} is not between 0 and 19.");
    return 2;
}
foreach (string encoding in encodings)
{
    if (encoding is not ("per-subscriber" or "shared" or "write-loop"))
    {
        Console.Error.WriteLine($"encodings: '{encoding}' is none of per-subscriber, shared, write-loop.");
        return 2;
    }
}

Console.WriteLine($"{Environment.ProcessorCount} cores; load average at the start {LoadAverage()}; load client at nice {clientNice}{(Environment.GetEnvironmentVariable(ClientOnly.Gen0Size) is { } gen0 ? $" with {ClientOnly.Gen0Size}={gen0}" : "")}, the service with its own settings");
Console.WriteLine("| encoding | subscribers | connections | end-to-end p50 / p99 / max ms | service computed-to-stream p50 / p99 / p99.9 ms | service arrival-to-stream p50 / p99 / p99.9 ms | frames received | missed (sequence jumps) | failed streams | service CPU (cores) | service CPU per frame received (µs) | load client CPU (cores) | service memory (MiB) | load average (1 min) at the end |");
Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
foreach (int n in counts)
{
    foreach (string encoding in encodings)
    {
        using Process server = StartServer(encoding != "per-subscriber", encoding == "write-loop", out string address);
        Nice.Self(clientNice); // after the start: the service does not inherit it
        try
        {
            Console.WriteLine($"| {encoding} {await Run(address, server, n, TimeSpan.FromSeconds(seconds))}");
        }
        finally
        {
            server.Kill();
            server.WaitForExit();
        }
    }
}
return 0;

static async Task<string> Run(string address, Process server, int subscribers, TimeSpan duration)
{
    int connections = (subscribers + 49) / 50;
    var channels = Enumerable.Range(0, connections).Select(_ => GrpcChannel.ForAddress(address, new GrpcChannelOptions
    {
        HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = false },
    })).ToArray();
    var clients = channels.Select(c => new Live.LiveClient(c)).ToArray();
    using var stop = new CancellationTokenSource();
    var latencies = new List<double>[subscribers];
    long missed = 0, jumps = 0, failedStreams = 0;
    var measuring = new TaskCompletionSource();
    var measured = new TaskCompletionSource(); // the window is over: frames after it are not counted
    var readers = new Task[subscribers];
    for (int i = 0; i < subscribers; i++)
    {
        int index = i;
        latencies[i] = new List<double>(duration.Seconds * 60);
        readers[i] = Task.Run(async () =>
        {
            using AsyncServerStreamingCall<ActivationFrame> call = clients[index % connections].StreamActivation(new StreamActivationRequest(), cancellationToken: stop.Token);
            ulong last = 0;
            try
            {
                while (await call.ResponseStream.MoveNext(stop.Token))
                {
                    ActivationFrame frame = call.ResponseStream.Current;
                    double ms = (DateTimeOffset.UtcNow - frame.ComputedAt.ToDateTimeOffset()).TotalMilliseconds;
                    if (measuring.Task.IsCompleted && !measured.Task.IsCompleted)
                    {
                        latencies[index].Add(ms);
                        Interlocked.Add(ref missed, frame.MissedBefore);
                        if (last != 0 && frame.Sequence != last + 1)
                        {
                            Interlocked.Increment(ref jumps);
                        }
                    }
                    last = frame.Sequence;
                }
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled || stop.IsCancellationRequested)
            {
                // The end of the run: streams and connections torn down together.
            }
            catch (RpcException e) when (!stop.IsCancellationRequested)
            {
                Interlocked.Increment(ref failedStreams);
                Console.Error.WriteLine($"stream {index}: {e.Status}");
            }
            catch (OperationCanceledException)
            {
            }
        });
    }
    await Task.Delay(TimeSpan.FromSeconds(3)); // every stream open and warm
    // Status calls on their own connection: the streams fill their connections' 100-stream limit.
    using GrpcChannel control = GrpcChannel.ForAddress(address);
    var live = new Live.LiveClient(control);
    measuring.SetResult();
    TimeSpan serverCpu0 = Cpu(server), clientCpu0 = Process.GetCurrentProcess().TotalProcessorTime;
    var wall = Stopwatch.StartNew();
    await Task.Delay(duration);
    measured.SetResult();
    double elapsed = wall.Elapsed.TotalSeconds;
    TimeSpan serverCpu = Cpu(server) - serverCpu0, clientCpu = Process.GetCurrentProcess().TotalProcessorTime - clientCpu0;
    EmgBiofeedback.Contracts.V1.Status status = await live.GetStatusAsync(new GetStatusRequest());
    server.Refresh();
    long rss = server.WorkingSet64;
    await stop.CancelAsync();
    await Task.WhenAll(readers);
    foreach (GrpcChannel c in channels)
    {
        c.Dispose();
    }

    double[] all = latencies.SelectMany(l => l).Order().ToArray();
    LatencySummary computed = status.DeliveryLatency, arrival = status.ArrivalToStream;
    return string.Create(CultureInfo.InvariantCulture,
        $"| {subscribers} | {connections} | {P(all, 0.5):F1} / {P(all, 0.99):F1} / {(all.Length > 0 ? all[^1] : 0):F0} | {computed.P50Ms:F2} / {computed.P99Ms:F2} / {computed.P999Ms:F2} | {arrival.P50Ms:F2} / {arrival.P99Ms:F2} / {arrival.P999Ms:F2} | {all.Length} | {missed} ({jumps}) | {failedStreams} | {serverCpu.TotalSeconds / elapsed:F2} | {(all.Length > 0 ? serverCpu.TotalMicroseconds / all.Length : 0):F1} | {clientCpu.TotalSeconds / elapsed:F2} | {rss >> 20} | {LoadAverage()} |");
}

static string LoadAverage() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";

static double P(double[] sorted, double q) => sorted.Length == 0 ? double.NaN : sorted[(int)(q * (sorted.Length - 1))];

static TimeSpan Cpu(Process p)
{
    p.Refresh();
    return p.TotalProcessorTime;
}

static Process StartServer(bool sharedEncoding, bool writeLoop, out string address)
{
    address = $"http://127.0.0.1:{FreePorts.Next()}";
    var start = new ProcessStartInfo("dotnet") { WorkingDirectory = AppContext.BaseDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
    foreach (string a in (string[])[Path.Combine(AppContext.BaseDirectory, "EmgBiofeedback.Server.dll"), $"--Api:GrpcUrl={address}", $"--Api:BrowserUrl=http://127.0.0.1:{FreePorts.Next()}", "--Acquisition:StatusInterval=00:01:00", $"--Live:SharedEncoding={sharedEncoding}", $"--Live:WriteLoop={writeLoop}"])
    {
        start.ArgumentList.Add(a);
    }
    start.Environment.Remove(ClientOnly.Gen0Size);
    Process process = Process.Start(start)!;
    // Ready once the board streams and Kestrel listens (the board may identify itself before the listeners open).
    var ready = new CountdownEvent(2);
    process.OutputDataReceived += (_, e) =>
    {
        if (!ready.IsSet && (e.Data?.Contains("Board simulated", StringComparison.Ordinal) == true || e.Data?.Contains("gRPC API on", StringComparison.Ordinal) == true))
        {
            ready.Signal();
        }
    };
    process.ErrorDataReceived += (_, _) => { };
    process.BeginOutputReadLine();
    process.BeginErrorReadLine();
    if (!ready.Wait(TimeSpan.FromSeconds(60)))
    {
        throw new InvalidOperationException("The service did not start.");
    }
    return process;
}

/// <summary>Linux niceness of this process's threads (per thread on Linux; threads started later inherit their creator's).</summary>
internal static class Nice
{
    private static int s_current;

    public static void Self(int nice)
    {
        if (nice == s_current || !OperatingSystem.IsLinux())
        {
            return;
        }
        foreach (string task in Directory.EnumerateDirectories("/proc/self/task"))
        {
            // A thread that ended meanwhile, or a lower value without the privilege for it: left as it is.
            _ = SetPriority(0 /* PRIO_PROCESS: one thread on Linux */, int.Parse(Path.GetFileName(task), CultureInfo.InvariantCulture), nice);
        }
        s_current = nice;
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "setpriority")]
#pragma warning disable SYSLIB1054 // one call per thread at start-up: no marshalling to generate
    private static extern int SetPriority(int which, int who, int prio);
#pragma warning restore SYSLIB1054
}

internal static class ClientOnly
{
    /// <summary>The client's gen0 budget (environment), not passed on to the service.</summary>
    public const string Gen0Size = "DOTNET_GCgen0size";
}
