using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using EmgBiofeedback.Contracts.V1;
using Grpc.Core;
using Grpc.Net.Client;
using Status = EmgBiofeedback.Contracts.V1.Status;

namespace EmgBiofeedback.EndToEnd.Tests;

/// <summary>
/// The whole run, once per test assembly run (a class fixture): the station started, then each fault in turn in one
/// service lifetime (the kill restarts it), each in a phase of its own with its window of the board's sample instants,
/// then the accounting (<see cref="Accounting"/>) that counts, per phase, what the board produced, what the recording
/// holds, what history holds, what the healthy subscribers got and what the page showed, and checks each pass rule.
/// Short mode by default (about 4 minutes of faults); EMG_E2E_MINUTES=30 stretches it to the documented long run.
/// </summary>
public sealed class E2eRun : IAsyncLifetime
{
    public const int SubscriberCount = 100;

    private readonly List<string> _log = [];
    private readonly List<Event> _events = [];
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly HarnessPauses _pauses = new();
    private Station _station = null!;
    private Subscribers _subscribers = null!;
    private BrowserProbe _browser = null!;
    private CancellationTokenSource _eventsStop = new();
    private Task _eventsTask = Task.CompletedTask;
    private int _lifetime;

    public E2eRun()
    {
        Minutes = double.TryParse(Environment.GetEnvironmentVariable("EMG_E2E_MINUTES"), NumberStyles.Float, CultureInfo.InvariantCulture, out double m) ? m : 0;
        // Short mode's faults take about 250 s, of which about 210 s scale; the long mode stretches them to fill the minutes asked for.
        Scale = Minutes > 0 ? Math.Max(1, Minutes * 60 / 210) : 1;
        SoakMinutes = double.TryParse(Environment.GetEnvironmentVariable("EMG_E2E_SOAK_MINUTES"), NumberStyles.Float, CultureInfo.InvariantCulture, out double soak) ? soak : 0;
    }

    /// <summary>Soak mode (EMG_E2E_SOAK_MINUTES, tests/e2e.sh --soak): the full load without a fault for that long, as a
    /// clinic's day goes, one session after another (<see cref="SoakSessionMinutes"/> each, a no-fault phase each), the
    /// service's memory read every 30 s; no fault runs.</summary>
    public double SoakMinutes { get; }

    /// <summary>Each soak session's length: 5 minutes, longer for a soak of more than an hour (12 sessions at most); a
    /// soak under 15 minutes (a trial of the harness) is three sessions.</summary>
    public double SoakSessionMinutes => SoakMinutes >= 15 ? Math.Max(5, SoakMinutes / 12) : SoakMinutes / 3;

    /// <summary>The service's resident memory through the soak: (seconds since its start, bytes).</summary>
    public List<(double Seconds, long Bytes)> SoakMemory { get; } = [];

    /// <summary>The service's resident memory as each soak session began (the previous one stopped): (seconds, bytes).</summary>
    public List<(double Seconds, long Bytes)> SoakSessionStarts { get; } = [];

    private readonly Stopwatch _soakClock = new();
    private readonly StringBuilder _soakCsv = new("seconds,rss_bytes\n");

    public double Minutes { get; }
    public double Scale { get; }
    public bool Long => Minutes > 0;

    public List<PhaseResult> Phases { get; } = [];
    public List<SessionRecord> Sessions { get; } = [];
    public List<MalformedOutcome> Malformed { get; } = [];
    public Exception? Failure { get; private set; }
    public string ReportMarkdown { get; private set; } = "";
    public string ReportFolder { get; } = Path.Combine(AppContext.BaseDirectory, "e2e");

    /// <summary>When the run began (a <see cref="Stopwatch"/> timestamp): the origin of the times in its logs.</summary>
    public long StartedTimestamp { get; } = Stopwatch.GetTimestamp();
    public Station Station => _station;
    public Subscribers Subscribers => _subscribers;
    public BrowserProbe Browser => _browser;
    public IReadOnlyList<Event> Events { get { lock (_events) { return _events.ToArray(); } } }
    public int Lifetime => _lifetime;
    public PhaseClock PhaseClock { get; } = new();
    public long StoppedDeadFrom { get; private set; }
    public long StoppedDeadTo { get; private set; }

    public PhaseResult Phase(string key) => Phases.Single(p => p.Key == key);

    public void Log(string line)
    {
        string stamped = $"{_clock.Elapsed.TotalSeconds,7:F1}s {line}";
        lock (_log)
        {
            _log.Add(stamped);
        }
        Console.WriteLine("[e2e] " + stamped);
    }

    public string RunLog()
    {
        lock (_log)
        {
            return string.Join('\n', _log);
        }
    }

    private TimeSpan S(double shortSeconds) => TimeSpan.FromSeconds(shortSeconds * Scale);

    private int Cycles(int shortCycles) => (int)Math.Round(shortCycles * Scale);

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(ReportFolder);
        try
        {
            await RunAsync();
        }
        catch (Exception e)
        {
            Failure = e;
            Log($"the run failed: {e}");
            if (Phases.Count > 0 && ReportMarkdown.Length == 0)
            {
                try
                {
                    await FinishAsync();
                }
                catch (Exception again)
                {
                    Log($"accounting after the failure failed too: {again}");
                }
            }
        }
        finally
        {
            try
            {
                await File.WriteAllTextAsync(Path.Combine(ReportFolder, "run.log"), RunLog());
                if (_station is not null)
                {
                    await File.WriteAllTextAsync(Path.Combine(ReportFolder, "service.log"), _station.ServerLog());
                }
            }
            catch (IOException)
            {
            }
        }
    }

    private async Task RunAsync()
    {
        // The test host keeps two thread-pool workers blocked for the whole run (xunit's assembly runner waits on a handle,
        // the VSTest socket client polls), and on a 2-core machine two is the pool's minimum: whenever the pool had
        // retired its idle extra workers (after about 20 s), the subscribers' continuations queued until the pool's
        // starvation check added a thread, up to twice a second, and every client saw a stall of up to 1 s that was not
        // the station's (measured: HarnessPauses' thread-pool delays matched every stall of serial-to-client).
        ThreadPool.GetMinThreads(out int workers, out int completionPorts);
        ThreadPool.SetMinThreads(Math.Max(workers, Environment.ProcessorCount + 16), completionPorts);
        Log($"mode: {(Long ? $"long ({Minutes} min, scale {Scale:F1})" : SoakMinutes > 0 ? $"soak ({SoakMinutes} min, sessions of {SoakSessionMinutes:0.#} min)" : "short")}");
        long tmpfs = Long ? 512L << 20 : 128L << 20;
        _station = await Station.StartAsync(tmpfs);
        Log($"station up: board pty {_station.Board.Pty}, service {_station.GrpcUrl} / {_station.BrowserUrl}, history {_station.History.Url}, recordings on a {tmpfs >> 20} MiB tmpfs");
        _subscribers = new Subscribers(SubscriberCount, 16, PhaseClock, () => _station.GrpcUrl);
        _subscribers.Start();
        StartEvents();
        _browser = await BrowserProbe.StartAsync(_station.BrowserUrl + "/");
        Log("patient view open in headless chromium");
        await StartSessionAsync(calibrate: true);
        await _subscribers.AllReceivingAsync(-1, TimeSpan.FromSeconds(60)); // before the first phase
        Log("100 subscribers receiving");

        if (SoakMinutes > 0)
        {
            // One session after another, as a clinic's day goes: within a session the service keeps its frames for the
            // summary (33 MB an hour at 8 channels, docs/clinical.md, section 6); across sessions its memory must stay flat.
            int sessions = (int)Math.Ceiling(SoakMinutes / SoakSessionMinutes);
            for (int k = 0; k < sessions; k++)
            {
                if (k > 0)
                {
                    await StopSessionAsync();
                    await StartSessionAsync(calibrate: false);
                    // The chain restarts with a session (about 1.6 s to settle): the phase begins once every
                    // subscriber is steady again, so that each counts the same frames.
                    await Task.Delay(TimeSpan.FromSeconds(3));
                }
                TimeSpan length = TimeSpan.FromMinutes(Math.Min(SoakSessionMinutes, SoakMinutes - k * SoakSessionMinutes));
                await RunPhaseAsync(k == 0 ? "baseline" : $"soak-{k + 1}", $"No fault (soak, session {k + 1} of {sessions})", "", async p =>
                {
                    await SoakAsync(length);
                    p.Injected = $"nothing for {length.TotalMinutes:0.#} minutes";
                });
                // The phase ended at the last sample the relay wrote; the service is a few ms behind it (serial to client
                // p50 2 ms), and a session stopped at once would end a few samples before the phase did.
                await Task.Delay(TimeSpan.FromSeconds(1));
            }
        }
        else
        {
            await RunPhaseAsync("baseline", "No fault", "nothing (the reference)", async p =>
            {
                await Task.Delay(S(10));
                p.Injected = $"nothing for {S(10).TotalSeconds:0} s";
            });
        }

        await RunPhaseAsync("garbage", "1 % random garbage bytes on the serial line", "", async p =>
        {
            long before = _station.Relay.GarbageBytes;
            _station.Relay.GarbageRate = 0.01;
            await Task.Delay(S(20));
            _station.Relay.GarbageRate = 0;
            p.Injected = $"one random byte inserted before each byte of the board's stream with probability 1 % for {S(20).TotalSeconds:0} s ({_station.Relay.GarbageBytes - before} bytes)";
            await Task.Delay(TimeSpan.FromSeconds(3));
        });

        await RunPhaseAsync("unplug", "Serial device gone and back every 10 s", "", async p =>
        {
            int cycles = Cycles(3);
            var noSignal = new List<double>();
            for (int i = 0; i < cycles; i++)
            {
                DateTimeOffset gone = DateTimeOffset.UtcNow;
                await _station.Relay.UnplugAsync();
                await Task.Delay(TimeSpan.FromSeconds(3));
                await _station.Relay.PlugInAsync();
                noSignal.Add(SecondsToNoSignal(gone, gone.AddSeconds(3)));
                await Task.Delay(TimeSpan.FromSeconds(7));
            }
            p.Injected = $"the device (socat's pty pair) removed for 3 s every 10 s, {cycles} times; the board kept sending";
            await Task.Delay(TimeSpan.FromSeconds(2));
            p.Facts.Add($"page said \"No signal\" after {string.Join(", ", noSignal.Select(s => double.IsNaN(s) ? "never" : s.ToString("0.0", CultureInfo.InvariantCulture) + " s"))}");
            p.Check(noSignal.All(s => s <= 1.5), $"the patient view did not say \"No signal\" within 1.5 s of every unplug: {string.Join(", ", noSignal)}");
            p.Check(_station.Relay.Plugged, "the device is not back");
        });

        await RunPhaseAsync("history-killed", "History server killed for 20 s", "", async p =>
        {
            for (int i = 0; i < Cycles(1); i++)
            {
                // victoria-metrics answers 204 before its last seconds reach disk (InfluxDB writes its WAL first): a kill
                // loses what it acknowledged in its last seconds. 10 s into the phase, so that loss is counted here.
                await Task.Delay(TimeSpan.FromSeconds(10));
                p.HistoryKills.Add(_station.Relay.LatestSequence);
                await _station.History.KillAsync();
                await Task.Delay(TimeSpan.FromSeconds(20));
                await _station.History.StartAgainAsync();
                await WaitForHistoryDrainedAsync(p, TimeSpan.FromSeconds(90));
            }
            p.Injected = $"victoria-metrics SIGKILLed, restarted 20 s later{(Cycles(1) > 1 ? $", {Cycles(1)} times" : "")}";
        });

        await RunPhaseAsync("history-hung", "History server hung for 20 s", "", async p =>
        {
            for (int i = 0; i < Cycles(1); i++)
            {
                await _station.History.StopAsync();
                (int accepted, int bytes) = await HangPortAsync(_station.History.Port, TimeSpan.FromSeconds(20));
                await _station.History.StartAgainAsync();
                p.Facts.Add($"the hung port accepted {accepted} connections and read {bytes} bytes without answering");
                p.Check(accepted > 0, "the service never tried the hung server");
                await WaitForHistoryDrainedAsync(p, TimeSpan.FromSeconds(90));
            }
            p.Injected = $"victoria-metrics stopped and its port held by a listener that accepts and never answers, 20 s{(Cycles(1) > 1 ? $", {Cycles(1)} times" : "")}";
        });

        await RunPhaseAsync("stalled-client", "A subscriber that stops reading", "", async p =>
        {
            using var handler = new SocketsHttpHandler { InitialHttp2StreamWindowSize = 65535 };
            using GrpcChannel channel = GrpcChannel.ForAddress(_station.GrpcUrl, new GrpcChannelOptions { HttpHandler = handler });
            using AsyncServerStreamingCall<ActivationFrame> stalled = new Live.LiveClient(channel).StreamActivation(new StreamActivationRequest());
            p.Check(await stalled.ResponseStream.MoveNext(CancellationToken.None), "the stalled client never got a frame");
            await Task.Delay(S(15));
            p.Injected = $"one more StreamActivation client (64 KiB HTTP/2 window) that read one frame and then nothing for {S(15).TotalSeconds:0} s";
        });

        await RunPhaseAsync("churn", "100 connects and disconnects per second", "", async p =>
        {
            TimeSpan length = TimeSpan.FromSeconds(Math.Min(30, 10 * Scale));
            (int attempts, int framed, int failed) = await ChurnAsync(length);
            p.Injected = $"{attempts} connections in {length.TotalSeconds:0} s (a new HTTP/2 connection, StreamActivation, first frame, cancel, close), 100 per second";
            p.Facts.Add($"churn: {framed} got their first frame, {failed} failed");
            p.Check(failed == 0, $"{failed} of {attempts} churning connections failed");
            p.Check(attempts >= length.TotalSeconds * 90, $"only {attempts} connections in {length.TotalSeconds} s (the rate was not reached)");
            await Task.Delay(TimeSpan.FromSeconds(3));
        });

        await RunPhaseAsync("malformed", "Malformed and oversized gRPC requests", "", async p =>
        {
            int rounds = Cycles(1);
            for (int i = 0; i < rounds; i++)
            {
                List<MalformedOutcome> outcomes = await MalformedRequests.RunAsync(_station.GrpcUrl, _station.BrowserUrl);
                if (i == 0)
                {
                    Malformed.AddRange(outcomes);
                }
                foreach (MalformedOutcome o in outcomes.Where(o => !o.AsExpected))
                {
                    p.Problems.Add($"{o.Case}: expected {o.Expected}, got {o.Observed}");
                }
            }
            p.Injected = $"{Malformed.Count} kinds of malformed or oversized request (raw HTTP/2, gRPC-Web, TCP){(rounds > 1 ? $", {rounds} rounds" : "")}";
            Status status = await _station.Live.GetStatusAsync(new GetStatusRequest());
            p.Check(status.Connected, "the service is not streaming after the malformed requests");
            await Task.Delay(TimeSpan.FromSeconds(3));
        });

        await RunPhaseAsync("clock", "System clock stepped back and forward by a minute", "", async p =>
        {
            TimeSpan hold = S(8);
            foreach (double offset in new[] { -60.0, 0, 60, 0 })
            {
                _station.SetClockOffset(offset);
                await Task.Delay(hold);
            }
            p.Injected = $"the service's wall clock stepped -60 s, +60 s, +60 s, -60 s ({hold.TotalSeconds:0} s apart), by its TimeProvider test hook";
            await AddMarkerAsync("after the clock steps");
        });

        await RunPhaseAsync("disk-full", "Disk full under the recordings folder", "", async p =>
        {
            // The record being filled when the disk fills is lost with it: start the fill in this phase's window.
            await Task.Delay(TimeSpan.FromSeconds(1.5));
            string filler = Path.Combine(_station.Recordings, "filler");
            long filled = await FillAsync(filler);
            p.Facts.Add($"filler of {filled >> 20} MiB left {new DriveInfo(_station.Recordings).AvailableFreeSpace} bytes free");
            await Task.Delay(S(15));
            p.Injected = $"the recordings tmpfs ({_station.TmpfsBytes >> 20} MiB) filled to the last byte for {S(15).TotalSeconds:0} s";
            Status status = await _station.Live.GetStatusAsync(new GetStatusRequest());
            p.Check(status.Connected && status.Session is not null, "the session did not go on live while the disk was full");
            File.Delete(filler);
            await Task.Delay(TimeSpan.FromSeconds(2));
        });

        // A new session: the recorder stopped for the full disk; the kill needs a recording being written.
        await StopSessionAsync();
        await StartSessionAsync(calibrate: false);

        await RunPhaseAsync("kill", "SIGKILL of the service mid-session, then a restart", "", async p =>
        {
            await Task.Delay(TimeSpan.FromSeconds(5));
            SessionRecord killed = Sessions[^1];
            StoredCalibration before = await _station.Sessions.GetStoredCalibrationAsync(new GetStoredCalibrationRequest { PatientCode = Station.Patient });
            DateTimeOffset killedAt = DateTimeOffset.UtcNow;
            StoppedDeadFrom = _station.Relay.LatestSequence;
            await _station.KillServiceAsync();
            Interlocked.Increment(ref _lifetime);
            _subscribers.NewLifetime();
            killed.KilledAt = killedAt;
            Log("service killed (SIGKILL)");
            await Task.Delay(TimeSpan.FromSeconds(3));
            await _station.StartServiceAsync();
            StoppedDeadTo = _station.Relay.LatestSequence;
            Log("service restarted");
            StoredCalibration after = await _station.Sessions.GetStoredCalibrationAsync(new GetStoredCalibrationRequest { PatientCode = Station.Patient });
            p.Check(after.Equals(before), $"the stored calibration changed across the kill: {before} -> {after}");
            p.Facts.Add($"stored calibration after the restart: saved {after.SavedAt.ToDateTimeOffset():O}, {after.Muscles.Count} muscles, equal to before the kill: {after.Equals(before)}");
            StartEvents();
            await StartSessionAsync(calibrate: false);
            p.Check(Sessions[^1].Id != killed.Id, "no new session started after the restart");
            await Task.Delay(TimeSpan.FromSeconds(8));
            string recovered = _station.Server.Log().Split('\n').FirstOrDefault(l => l.Contains("recovered from the spool", StringComparison.Ordinal)) ?? "";
            p.Facts.Add(recovered.Length > 0 ? $"history after the restart: {recovered[(recovered.IndexOf("History:", StringComparison.Ordinal) is int i and >= 0 ? i : 0)..]}" : "history after the restart: nothing to recover");
            await WaitForHistoryDrainedAsync(p, TimeSpan.FromSeconds(60));
            p.Injected = $"kill -KILL of the service 5 s into a session; restarted {(StoppedDeadTo - StoppedDeadFrom) / 1000.0:0.0} s of board time later";
        });

        await StopSessionAsync();
        await WaitForHistoryDrainedAsync(Phases[^1], TimeSpan.FromSeconds(60));
        Status last = await _station.Live.GetStatusAsync(new GetStatusRequest());
        Log($"end: history written {last.History?.PointsWritten}, dropped {last.History?.PointsDropped}, spool {last.History?.SpoolBatches} batches");
        await FinishAsync();
    }

    /// <summary>Stops the clients and the service, then counts and checks everything.</summary>
    private async Task FinishAsync()
    {
        await _browser.DisposeAsync();
        await _subscribers.DisposeAsync();
        await _eventsStop.CancelAsync();
        await _eventsTask;
        await _station.StopServiceAsync();
        Log("service stopped; accounting");
        Accounting.Run(this);
        ReportMarkdown = Report.Markdown(this);
        await File.WriteAllTextAsync(Path.Combine(ReportFolder, "reliability-table.md"), ReportMarkdown);
        if (Environment.GetEnvironmentVariable("EMG_E2E_TABLE") is { Length: > 0 } table)
        {
            await File.WriteAllTextAsync(table, ReportMarkdown);
        }
        Console.WriteLine(ReportMarkdown);
    }

    private async Task RunPhaseAsync(string key, string name, string injected, Func<PhaseResult, Task> fault)
    {
        // EMG_E2E_ONLY=kill,clock runs only those faults (to look at one closely); the suite runs them all. A soak runs none.
        if ((Environment.GetEnvironmentVariable("EMG_E2E_ONLY") is { Length: > 0 } only && !only.Split(',').Contains(key))
            || (SoakMinutes > 0 && !IsNoFault(key)))
        {
            return;
        }
        var phase = new PhaseResult(key, name, injected);
        Phases.Add(phase);
        PhaseClock.Enter(Phases.Count - 1);
        phase.Start = DateTimeOffset.UtcNow;
        phase.FirstSequence = _station.Relay.LatestSequence + 1;
        phase.Before = await _station.Live.GetStatusAsync(new GetStatusRequest());
        long memory = _station.Server.ResidentBytes();
        phase.ServerMemoryAtStart = memory;
        TimeSpan cpu = _station.Server.CpuTime();
        var wall = Stopwatch.StartNew();
        long lineDropped = _station.Relay.DroppedBytes;
        Log($"phase {key}: {name}");
        long phaseStart = Stopwatch.GetTimestamp();
        TimeSpan harnessGc = GC.GetTotalPauseDuration();
        using var endOfPhase = new CancellationTokenSource();
        Task serviceLatency = WatchServiceLatencyAsync(phase, endOfPhase.Token);
        try
        {
            await fault(phase);
        }
        catch (Exception e)
        {
            phase.Problems.Add($"the fault's script failed: {e.GetType().Name}: {e.Message}");
            Log($"phase {key} failed: {e}");
        }
        if (_station.ServerHasExited)
        {
            // The fault killed the service: say so, and bring it back so that the other faults still run.
            phase.Problems.Add($"the service DIED during this phase: {_station.Server.Log().Split('\n').LastOrDefault(l => l.Contains("fail:", StringComparison.Ordinal) || l.Contains("crit:", StringComparison.Ordinal))}");
            Log($"phase {key}: the service died; restarting it");
            await _station.KillServiceAsync();
            Interlocked.Increment(ref _lifetime);
            _subscribers.NewLifetime();
            await _station.StartServiceAsync();
            StartEvents();
            await StartSessionAsync(calibrate: false);
            phase.Before = null;
        }
        await endOfPhase.CancelAsync();
        await serviceLatency;
        long phaseEnd = Stopwatch.GetTimestamp();
        (phase.HarnessPauses, phase.HarnessMaxPauseMs) = _pauses.PausesBetween(phaseStart, phaseEnd);
        phase.HarnessGcPauseMs = (GC.GetTotalPauseDuration() - harnessGc).TotalMilliseconds;
        (phase.HarnessPoolDelays, phase.HarnessMaxPoolDelayMs) = _pauses.PoolDelaysBetween(phaseStart, phaseEnd);
        phase.After = await _station.Live.GetStatusAsync(new GetStatusRequest());
        phase.ServerMemoryAtEnd = _station.Server.ResidentBytes();
        phase.ServerMemoryGrowthBytes = phase.ServerMemoryAtEnd - memory;
        if (phase.Before is not null && key != "kill")
        {
            phase.ServerCpuCores = (_station.Server.CpuTime() - cpu).TotalSeconds / wall.Elapsed.TotalSeconds;
        }
        phase.LineDroppedBytes = _station.Relay.DroppedBytes - lineDropped;
        phase.EndSequence = _station.Relay.LatestSequence + 1;
        phase.End = DateTimeOffset.UtcNow;
        PhaseClock.Enter(-1); // until the next phase: what arrives between phases (or after the last) is no phase's
        Log($"phase {key} done: board sequences [{phase.FirstSequence}, {phase.EndSequence})");
    }

    /// <summary>The no-fault phases: the reference, and in a soak each session after the first.</summary>
    public static bool IsNoFault(string key) => key == "baseline" || key.StartsWith("soak-", StringComparison.Ordinal);

    /// <summary>One soak session: the full load, no fault, the service's memory read every 30 s (memory.csv beside the table).</summary>
    private async Task SoakAsync(TimeSpan length)
    {
        _soakClock.Start();
        var clock = Stopwatch.StartNew();
        bool first = true;
        while (true)
        {
            long rss = _station.Server.ResidentBytes();
            double seconds = _soakClock.Elapsed.TotalSeconds;
            SoakMemory.Add((seconds, rss));
            if (first)
            {
                SoakSessionStarts.Add((seconds, rss));
                first = false;
            }
            _soakCsv.Append(CultureInfo.InvariantCulture, $"{seconds:0},{rss}\n");
            await File.WriteAllTextAsync(Path.Combine(ReportFolder, "memory.csv"), _soakCsv.ToString());
            if (clock.Elapsed >= length)
            {
                return;
            }
            await Task.Delay(TimeSpan.FromSeconds(30) < length - clock.Elapsed ? TimeSpan.FromSeconds(30) : length - clock.Elapsed);
        }
    }

    /// <summary>
    /// The service's own latency through the phase, from the wire in to the wire out (GetStatus' arrival_to_stream, a
    /// window of the last 10 to 20 s, read every 5 s): the largest p99 and max seen. Beside the harness's serial-to-client
    /// figures it tells the service's delay from the harness's own (<see cref="HarnessPauses"/>).
    /// </summary>
    private async Task WatchServiceLatencyAsync(PhaseResult phase, CancellationToken end)
    {
        while (true)
        {
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(5), end);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(3));
                Status status = await _station.Live.GetStatusAsync(new GetStatusRequest(), cancellationToken: timeout.Token);
                if (status.ArrivalToStream is { Count: > 0 } window)
                {
                    phase.ServiceArrivalToStreamP99Ms = Math.Max(phase.ServiceArrivalToStreamP99Ms, window.P99Ms);
                    phase.ServiceArrivalToStreamMaxMs = Math.Max(phase.ServiceArrivalToStreamMaxMs, window.MaxMs);
                }
            }
            catch (Exception e) when (e is RpcException or InvalidOperationException)
            {
                // The service is down (the kill fault: between the kill and the restart the station has no service to
                // call, InvalidOperationException) or busy: that window is not read.
            }
        }
    }

    /// <summary>A session on the extended montage (8 muscles), a marker to tie its recording to the acquisition's sample
    /// index, then the clinical flow: (the first time) a rest calibration, the stored calibration reused, a target, a protocol.</summary>
    private async Task StartSessionAsync(bool calibrate)
    {
        Contracts.V1.Sessions.SessionsClient sessions = _station.Sessions;
        Session session = await sessions.StartSessionAsync(new StartSessionRequest { PatientCode = Station.Patient, MontagePreset = "extended" });
        var record = new SessionRecord(session.SessionId, _lifetime);
        Sessions.Add(record);
        Marker origin = await sessions.AddMarkerAsync(new AddMarkerRequest { Label = "e2e origin" });
        record.OriginSampleIndex = origin.SampleIndex;
        if (calibrate)
        {
            await Task.Delay(TimeSpan.FromSeconds(2)); // the chain restarted with the session: let it settle (about 1.6 s)
            CalibrationResult rest = await sessions.CalibrateAsync(new CalibrateRequest { Step = CalibrationStep.Rest });
            Log($"rest calibration: accepted {rest.Accepted}");
        }
        await sessions.ReuseCalibrationAsync(new ReuseCalibrationRequest());
        await sessions.SetTargetAsync(new SetTargetRequest { Label = "SCM L", Direction = TargetDirection.Below, LevelPct = 30 });
        var template = new ProtocolTemplate
        {
            Name = "e2e",
            PreBaselineSeconds = 5,
            Trials = (uint)Math.Clamp(15 * Scale, 3, 100),
            WorkSeconds = 5,
            RestSeconds = 5,
            PostBaselineSeconds = 5,
        };
        await sessions.SaveProtocolAsync(template);
        await sessions.StartProtocolAsync(new StartProtocolRequest { Name = "e2e" });
        Log($"session {session.SessionId} open: origin marker at sample {origin.SampleIndex}, protocol e2e running");
    }

    private async Task AddMarkerAsync(string label) =>
        await _station.Sessions.AddMarkerAsync(new AddMarkerRequest { Label = label });

    private async Task StopSessionAsync()
    {
        SessionSummary summary = await _station.Sessions.StopSessionAsync(new StopSessionRequest());
        Sessions[^1].Summary = summary;
        Log($"session {summary.Session.SessionId} stopped: {summary.ActivationFrames} frames, recording {Path.GetFileName(summary.RecordingPath)}");
    }

    /// <summary>Every event of the service (one stream per service lifetime), for the report.</summary>
    private void StartEvents()
    {
        _eventsStop = new CancellationTokenSource();
        CancellationToken stop = _eventsStop.Token;
        GrpcChannel channel = _station.Control;
        _eventsTask = Task.Run(async () =>
        {
            try
            {
                using AsyncServerStreamingCall<Event> call = new Live.LiveClient(channel).StreamEvents(new StreamEventsRequest(), cancellationToken: stop);
                while (await call.ResponseStream.MoveNext(stop))
                {
                    lock (_events)
                    {
                        _events.Add(call.ResponseStream.Current);
                    }
                }
            }
            catch (RpcException)
            {
            }
            catch (OperationCanceledException)
            {
            }
        });
    }

    /// <summary>Seconds from <paramref name="from"/> to the first moment every bar of the page said "No signal", or NaN.</summary>
    private double SecondsToNoSignal(DateTimeOffset from, DateTimeOffset to)
    {
        PageSample? first = _browser.Samples(from, to.AddSeconds(1)).Cast<PageSample?>().FirstOrDefault(s => s!.Value.NoSignal > 0 && s.Value.Showing == 0);
        return first is { } f ? (f.Time - from).TotalSeconds : double.NaN;
    }

    private async Task WaitForHistoryDrainedAsync(PhaseResult phase, TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        try
        {
            await Eventually.TrueAsync(() =>
            {
                Status s = _station.Live.GetStatus(new GetStatusRequest());
                return s.History is { SpoolBatches: 0 } h && h.State == "Delivering";
            }, timeout, "the history spool delivered");
            phase.Facts.Add($"history spool delivered {watch.Elapsed.TotalSeconds:0} s after the server came back");
        }
        catch (TimeoutException e)
        {
            phase.Problems.Add(e.Message);
        }
    }

    /// <summary>A port that accepts connections and reads what comes, never answering, for <paramref name="length"/>.</summary>
    private static async Task<(int Accepted, int Bytes)> HangPortAsync(int port, TimeSpan length)
    {
        using var listener = new TcpListener(IPAddress.Loopback, port);
        listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Start();
        var held = new List<TcpClient>();
        int accepted = 0, bytes = 0;
        using var cts = new CancellationTokenSource(length);
        var readers = new List<Task>();
        try
        {
            while (!cts.IsCancellationRequested)
            {
                TcpClient client = await listener.AcceptTcpClientAsync(cts.Token);
                accepted++;
                held.Add(client);
                readers.Add(Task.Run(async () =>
                {
                    byte[] buffer = new byte[65536];
                    try
                    {
                        int n;
                        while ((n = await client.GetStream().ReadAsync(buffer, cts.Token)) > 0)
                        {
                            Interlocked.Add(ref bytes, n);
                        }
                    }
                    catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException)
                    {
                    }
                }));
            }
        }
        catch (OperationCanceledException)
        {
        }
        listener.Stop();
        await Task.WhenAll(readers);
        foreach (TcpClient c in held)
        {
            c.Dispose();
        }
        return (accepted, bytes);
    }

    /// <summary>100 times a second for <paramref name="length"/>: a new connection, a stream, its first frame, cancel, close.</summary>
    private async Task<(int Attempts, int Framed, int Failed)> ChurnAsync(TimeSpan length)
    {
        int attempts = 0, framed = 0, failed = 0;
        var running = new List<Task>();
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < length)
        {
            int due = (int)(watch.Elapsed.TotalSeconds * 100) + 1;
            while (attempts < due)
            {
                attempts++;
                running.Add(Task.Run(async () =>
                {
                    try
                    {
                        using var channel = GrpcChannel.ForAddress(_station.GrpcUrl);
                        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                        using AsyncServerStreamingCall<ActivationFrame> call = new Live.LiveClient(channel).StreamActivation(new StreamActivationRequest(), cancellationToken: cts.Token);
                        if (await call.ResponseStream.MoveNext(cts.Token))
                        {
                            Interlocked.Increment(ref framed);
                        }
                    }
                    catch (Exception e) when (e is RpcException or OperationCanceledException or HttpRequestException)
                    {
                        Interlocked.Increment(ref failed);
                    }
                }));
            }
            running.RemoveAll(t => t.IsCompleted);
            await Task.Delay(5);
        }
        await Task.WhenAll(running);
        return (attempts, framed, failed);
    }

    /// <summary>Fills the file system under <paramref name="path"/> to the last byte.</summary>
    private static async Task<long> FillAsync(string path)
    {
        long written = 0;
        byte[] block = new byte[1 << 20];
        await using (var f = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 0))
        {
            try
            {
                while (true)
                {
                    f.Write(block);
                    written += block.Length;
                }
            }
            catch (IOException)
            {
                // ENOSPC: now fill the last partial block byte by byte (small writes)
            }
            try
            {
                byte[] one = new byte[4096];
                while (true)
                {
                    f.Write(one);
                    written += one.Length;
                }
            }
            catch (IOException)
            {
            }
            try
            {
                while (true)
                {
                    f.Write(block, 0, 1);
                    written++;
                }
            }
            catch (IOException)
            {
            }
        }
        return written;
    }

    public async Task DisposeAsync()
    {
        // Each part on its own: one that fails to stop must not leave the others (processes, the tmpfs) behind.
        foreach (IAsyncDisposable? part in new IAsyncDisposable?[] { _browser, _subscribers, _station })
        {
            if (part is null)
            {
                continue;
            }
            try
            {
                await part.DisposeAsync();
            }
            catch (Exception e)
            {
                Log($"cleanup of {part.GetType().Name} failed: {e.Message}");
            }
        }
        _pauses.Dispose();
    }
}

/// <summary>A session of the run: its id, the service lifetime it ran in, and the sample index its origin marker got.</summary>
public sealed class SessionRecord(string id, int lifetime)
{
    public string Id { get; } = id;
    public int Lifetime { get; } = lifetime;
    public long OriginSampleIndex { get; set; } = -1;
    public SessionSummary? Summary { get; set; }
    public DateTimeOffset? KilledAt { get; set; }

    /// <summary>The board's sequence number of the recording's first sample (found by the accounting), or -1.</summary>
    public long FirstSequence { get; set; } = -1;

    /// <summary>The acquisition's sample index of the recording's first sample (from the origin marker), or -1.</summary>
    public long FirstIndex { get; set; } = -1;

    public DateTimeOffset RecordingStart { get; set; }
    public RecordingFacts? Recording { get; set; }
}
