using System.Collections.Concurrent;
using System.Diagnostics;

namespace EmgBiofeedback.Server.Tests;

/// <summary>
/// The real service as a user starts it: its own process, built output, its appsettings.json, and the
/// given command-line settings. Collects stdout and stderr line by line.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly BlockingCollection<string> _lines = [];

    private ServerProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => Add(e.Data);
        process.ErrorDataReceived += (_, e) => Add(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public List<string> Output { get; } = [];

    /// <summary>Everything printed so far, one line per line; safe while the process runs.</summary>
    public string Log()
    {
        lock (Output)
        {
            return string.Join('\n', Output);
        }
    }

    /// <summary>The gRPC (HTTP/2) address, after <see cref="StartListening"/>.</summary>
    public string Address { get; private set; } = "";

    /// <summary>The browser (HTTP/1.1, gRPC-Web) address, after <see cref="StartListening"/>.</summary>
    public string BrowserAddress { get; private set; } = "";

    /// <summary>Both endpoints on port 0: for tests that need no client.</summary>
    public static readonly string[] AnyPorts = ["--Api:GrpcUrl=http://127.0.0.1:0", "--Api:BrowserUrl=http://127.0.0.1:0"];

    /// <summary>Host and port, for clients that take "host:port".</summary>
    public string Target => new Uri(Address).Authority;

    /// <summary>Starts the service on a free loopback port and waits until it listens and streams.</summary>
    public static ServerProcess StartListening(params string[] arguments) => StartListening(new StartOptions(), arguments);

    /// <summary>As <see cref="StartListening(string[])"/>, started as <paramref name="options"/> say.</summary>
    public static ServerProcess StartListening(StartOptions options, params string[] arguments)
    {
        string grpc = $"http://127.0.0.1:{FreePorts.Next()}";
        string browser = $"http://127.0.0.1:{FreePorts.Next()}";
        ServerProcess server = Start(options, [$"--Api:GrpcUrl={grpc}", $"--Api:BrowserUrl={browser}", .. arguments]);
        server.Address = grpc;
        server.BrowserAddress = browser;
        // Both, in whichever order they come: the announcement follows Kestrel's start, the board line the loop's.
        server.WaitForLine(l => l.Contains("gRPC API on", StringComparison.Ordinal), TimeSpan.FromSeconds(60), "the endpoints announcement");
        bool boardSeen;
        lock (server.Output)
        {
            boardSeen = server.Output.Any(l => l.Contains("Board simulated", StringComparison.Ordinal));
        }
        if (!boardSeen)
        {
            server.WaitForLine(l => l.Contains("Board simulated", StringComparison.Ordinal), TimeSpan.FromSeconds(60), "board identification");
        }
        return server;
    }

    /// <summary>Resident memory of the server process, from /proc.</summary>
    public long ResidentBytes()
    {
        _process.Refresh();
        return _process.WorkingSet64;
    }

    /// <summary>CPU time the server process has used so far.</summary>
    public TimeSpan CpuTime()
    {
        _process.Refresh();
        return _process.TotalProcessorTime;
    }

    /// <summary>The folder holding the built server (beside the tests).</summary>
    public static string ServerDirectory { get; } = Path.GetDirectoryName(typeof(HostSetup).Assembly.Location)!;

    public static ServerProcess Start(params string[] arguments) => Start(new StartOptions(), arguments);

    /// <summary>How to start the server when the defaults (built output, its folder as working directory) do not fit.</summary>
    public sealed record StartOptions
    {
        /// <summary>The folder holding EmgBiofeedback.Server.dll and its appsettings.json.</summary>
        public string? ApplicationDirectory { get; init; }

        public string? WorkingDirectory { get; init; }

        /// <summary>Run as this user (by setpriv, as systemd's User= would), with its own groups only.</summary>
        public string? User { get; init; }

        public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

        /// <summary>
        /// A program and its arguments that start the server, given <c>dotnet</c>, the server's .dll and its arguments
        /// after them (a shell that prepares the environment as a supervisor would). Not with <see cref="User"/>.
        /// </summary>
        public IReadOnlyList<string>? Launcher { get; init; }
    }

    public static ServerProcess Start(StartOptions options, params string[] arguments)
    {
        string application = options.ApplicationDirectory ?? ServerDirectory;
        if (options.User is not null && options.Launcher is not null)
        {
            throw new ArgumentException("A launcher and a user cannot be combined.", nameof(options));
        }
        var start = new ProcessStartInfo(options.Launcher?[0] ?? (options.User is null ? "dotnet" : "setpriv"))
        {
            WorkingDirectory = options.WorkingDirectory ?? application,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        if (options.User is not null)
        {
            foreach (string a in new[] { $"--reuid={options.User}", $"--regid={options.User}", "--init-groups", "--", "dotnet" })
            {
                start.ArgumentList.Add(a);
            }
        }
        if (options.Launcher is not null)
        {
            foreach (string a in options.Launcher.Skip(1).Append("dotnet"))
            {
                start.ArgumentList.Add(a);
            }
        }
        start.ArgumentList.Add(Path.Combine(application, "EmgBiofeedback.Server.dll"));
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        foreach ((string name, string value) in options.Environment)
        {
            start.Environment[name] = value;
        }
        return new ServerProcess(Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start"));
    }

    /// <summary>Waits for the next output line that matches, up to a deadline.</summary>
    public string WaitForLine(Func<string, bool> match, TimeSpan timeout, string what)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            TimeSpan left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || !_lines.TryTake(out string? line, left))
            {
                throw new TimeoutException($"No {what} within {timeout.TotalSeconds:F0} s. Output so far:\n{string.Join('\n', Output)}");
            }
            if (match(line))
            {
                return line;
            }
        }
    }

    /// <summary>The server's process id (to signal it).</summary>
    public int Pid => _process.Id;

    /// <summary>Whether the server process has ended.</summary>
    public bool HasExited => _process.HasExited;

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        _process.WaitForExit(); // drains the redirected streams
        return _process.ExitCode;
    }

    /// <summary>SIGTERM, as systemd sends on stop, then the exit code.</summary>
    public async Task<int> StopAsync(TimeSpan timeout)
    {
        using (Process kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!)
        {
            await kill.WaitForExitAsync();
        }
        return await WaitForExitAsync(timeout);
    }

    private void Add(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (Output)
        {
            Output.Add(line);
        }
        _lines.Add(line);
    }

    public async ValueTask DisposeAsync()
    {
        await ProcessExit.TerminateAsync(_process, TimeSpan.FromSeconds(20));
        _process.Dispose();
        _lines.Dispose();
    }
}
