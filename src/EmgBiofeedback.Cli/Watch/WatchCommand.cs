using System.CommandLine;
using Grpc.Core;
using Grpc.Net.Client;
using EmgBiofeedback.Contracts.V1;
using Spectre.Console;

namespace EmgBiofeedback.Cli;

/// <summary>
/// <c>emg watch</c>: a terminal live view of a running station over its gRPC API (Live.StreamActivation,
/// Live.StreamEvents, Live.GetStatus every 2 s), for headless stations and SSH sessions. Redrawn about ten times a
/// second from the newest frame; reconnects with back-off; Ctrl+C ends it with exit code 0.
/// </summary>
public static class WatchCommand
{
    /// <summary>Redraws per second.</summary>
    private static readonly TimeSpan RenderInterval = TimeSpan.FromMilliseconds(100);

    private static readonly TimeSpan StatusInterval = TimeSpan.FromSeconds(2);

    /// <summary>How long <c>--once</c> waits for the first frame and status.</summary>
    private static readonly TimeSpan OnceTimeout = TimeSpan.FromSeconds(20);

    public static void Add(RootCommand root)
    {
        ArgumentNullException.ThrowIfNull(root);
        var url = new Option<string>("--url") { Description = "The station's gRPC address (Api:GrpcUrl).", DefaultValueFactory = _ => "http://127.0.0.1:5080" };
        var tokenFile = new Option<FileInfo?>("--token-file")
        {
            Description = "File holding the viewer (or clinician) token, when the station asks for one; without it, the environment variable EMG_TOKEN. Never on the command line: it would show in ps.",
        };
        var once = new Option<bool>("--once") { Description = "Print one snapshot once the first frames have come, then exit (0; 1 when none came in 20 s or the token was refused): for scripts." };
        var watch = new Command("watch", "Live view of a running station in the terminal: per-muscle %MVC bars, target state, signal quality, the current prompt.")
        {
            url, tokenFile, once,
        };
        watch.SetAction((r, ct) => RunAsync(r.GetValue(url)!, r.GetValue(tokenFile), r.GetValue(once), ct));
        root.Subcommands.Add(watch);
    }

    private static async Task<int> RunAsync(string url, FileInfo? tokenFile, bool once, CancellationToken ct)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out Uri? address) || (address.Scheme != Uri.UriSchemeHttp && address.Scheme != Uri.UriSchemeHttps))
        {
            await Console.Error.WriteLineAsync($"error: --url: '{Program.Printable(url)}' is not an http:// or https:// address.").ConfigureAwait(false);
            return 2;
        }
        string? token;
        try
        {
            token = ReadToken(tokenFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            await Console.Error.WriteLineAsync($"error: --token-file: {Program.Printable(e.Message)}").ConfigureAwait(false);
            return 2;
        }

        var headers = new Metadata();
        if (token is not null)
        {
            headers.Add("authorization", $"Bearer {token}");
        }
        using var handler = new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(5),
            KeepAlivePingDelay = TimeSpan.FromSeconds(20),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
            EnableMultipleHttp2Connections = true,
        };
        using GrpcChannel channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = false });
        var client = new Live.LiveClient(channel);
        var state = new WatchState(address.ToString().TrimEnd('/'), TimeProvider.System);

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        Task connection = KeepConnectedAsync(client, headers, token is not null, state, stop.Token);
        try
        {
            return once ? await OnceAsync(state, ct).ConfigureAwait(false) : await LiveAsync(state, ct).ConfigureAwait(false);
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await connection.ConfigureAwait(false);
        }
    }

    /// <summary>The token from the file (first line, trimmed) or EMG_TOKEN; null when neither gives one.</summary>
    private static string? ReadToken(FileInfo? tokenFile)
    {
        string? token = tokenFile is null ? Environment.GetEnvironmentVariable("EMG_TOKEN") : File.ReadAllText(tokenFile.FullName);
        token = token?.Trim();
        if (tokenFile is not null && string.IsNullOrEmpty(token))
        {
            throw new ArgumentException($"{tokenFile.Name} holds no token.");
        }
        if (token is not null && token.Any(c => char.IsControl(c) || char.IsWhiteSpace(c)))
        {
            throw new ArgumentException("the token holds spaces or control characters (one token, on one line).");
        }
        return string.IsNullOrEmpty(token) ? null : token;
    }

    private static async Task<int> LiveAsync(WatchState state, CancellationToken ct)
    {
        await AnsiConsole.Live(WatchView.Render(state.Snapshot()))
            .AutoClear(false)
            .Overflow(VerticalOverflow.Ellipsis)
            .Cropping(VerticalOverflowCropping.Bottom)
            .StartAsync(async ctx =>
            {
                using var timer = new PeriodicTimer(RenderInterval);
                try
                {
                    while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false))
                    {
                        ctx.UpdateTarget(WatchView.Render(state.Snapshot()));
                    }
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                    // Ctrl+C: the last screen stays, the cursor comes back.
                }
            }).ConfigureAwait(false);
        return 0;
    }

    private static async Task<int> OnceAsync(WatchState state, CancellationToken ct)
    {
        DateTime deadline = DateTime.UtcNow + OnceTimeout;
        try
        {
            while (DateTime.UtcNow < deadline)
            {
                WatchModel m = state.Snapshot();
                // A refused token will not be accepted on the next try: a script learns it at once.
                if ((WatchView.IsLive(m) && m.Status is not null) || m.AccessRefused)
                {
                    break;
                }
                await Task.Delay(50, ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return 0;
        }
        WatchModel snapshot = state.Snapshot();
        AnsiConsole.Write(WatchView.Render(snapshot));
        if (!WatchView.IsLive(snapshot))
        {
            await Console.Error.WriteLineAsync(snapshot.AccessRefused
                ? $"error: {snapshot.Url}: {Program.Printable(snapshot.LinkProblem ?? "access refused")}"
                : $"error: no activation frame from {snapshot.Url} within {OnceTimeout.TotalSeconds:F0} s"
                  + (snapshot.LinkProblem is { } p ? $": {Program.Printable(p)}" : ".")).ConfigureAwait(false);
            return 1;
        }
        return 0;
    }

    /// <summary>
    /// Opens the two streams and the status poll; when any of them fails, shows why and tries again after a
    /// back-off (0.5 s doubling to 5 s, back to 0.5 s after an attempt that brought frames). Ends when <paramref name="ct"/> is cancelled.
    /// </summary>
    private static async Task KeepConnectedAsync(Live.LiveClient client, Metadata headers, bool hasToken, WatchState state, CancellationToken ct)
    {
        TimeSpan backoff = TimeSpan.FromMilliseconds(500);
        while (!ct.IsCancellationRequested)
        {
            state.Connecting();
            using var attempt = CancellationTokenSource.CreateLinkedTokenSource(ct);
            Task[] tasks =
            [
                ReadFramesAsync(client, headers, state, attempt.Token),
                ReadEventsAsync(client, headers, state, attempt.Token),
                PollStatusAsync(client, headers, state, attempt.Token),
            ];
            try
            {
                Task first = await Task.WhenAny(tasks).ConfigureAwait(false);
                await first.ConfigureAwait(false);
                throw new IOException("the station ended the stream");
            }
            catch (Exception e) when (!ct.IsCancellationRequested)
            {
                state.Failed(Describe(e, hasToken), e is RpcException { StatusCode: StatusCode.Unauthenticated or StatusCode.PermissionDenied });
            }
            catch (Exception) when (ct.IsCancellationRequested)
            {
                // Leaving: the failure is the cancellation itself.
            }
            finally
            {
                await attempt.CancelAsync().ConfigureAwait(false);
                try
                {
                    await Task.WhenAll(tasks).ConfigureAwait(false);
                }
                catch (Exception)
                {
                    // The other calls end with Cancelled (or their own failure, already shown through the first).
                }
            }
            if (ct.IsCancellationRequested)
            {
                return;
            }
            backoff = state.FrameSinceConnecting ? TimeSpan.FromMilliseconds(500) : backoff;
            try
            {
                await Task.Delay(backoff, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
        }
    }

    private static async Task ReadFramesAsync(Live.LiveClient client, Metadata headers, WatchState state, CancellationToken ct)
    {
        using AsyncServerStreamingCall<ActivationFrame> call = client.StreamActivation(new StreamActivationRequest(), headers, cancellationToken: ct);
        await foreach (ActivationFrame frame in call.ResponseStream.ReadAllAsync(ct).ConfigureAwait(false))
        {
            state.OnFrame(frame);
        }
    }

    private static async Task ReadEventsAsync(Live.LiveClient client, Metadata headers, WatchState state, CancellationToken ct)
    {
        using AsyncServerStreamingCall<Event> call = client.StreamEvents(new StreamEventsRequest(), headers, cancellationToken: ct);
        await foreach (Event e in call.ResponseStream.ReadAllAsync(ct).ConfigureAwait(false))
        {
            state.OnEvent(e);
        }
    }

    private static async Task PollStatusAsync(Live.LiveClient client, Metadata headers, WatchState state, CancellationToken ct)
    {
        using var timer = new PeriodicTimer(StatusInterval);
        do
        {
            state.OnStatus(await client.GetStatusAsync(new GetStatusRequest(), headers, DateTime.UtcNow.AddSeconds(5), ct).ConfigureAwait(false));
        }
        while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false));
    }

    private static string Describe(Exception e, bool hasToken) => e switch
    {
        RpcException { StatusCode: StatusCode.Unauthenticated } => hasToken
            ? "the station refused the token (Unauthenticated)"
            : "the station wants a token: --token-file or EMG_TOKEN (Unauthenticated)",
        RpcException { StatusCode: StatusCode.PermissionDenied } r => $"permission denied: {r.Status.Detail}",
        RpcException r => $"{r.StatusCode}: {r.Status.Detail}",
        _ => e.Message,
    };
}
