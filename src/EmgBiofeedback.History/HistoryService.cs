using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Threading.Channels;
using EmgBiofeedback.Pipeline;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;

namespace EmgBiofeedback.History;

public enum HistoryState
{
    Disabled,
    Starting,
    Delivering,

    /// <summary>The server is down, slow or answering 5xx/429: batches go to the spool, retried with backoff.</summary>
    Retrying,

    /// <summary>401/403/404: the token, org or bucket is wrong; the spool keeps the points.</summary>
    Refused,

    /// <summary>The spool reached its bound and points are being dropped.</summary>
    SpoolFull,
}

/// <summary>What the gRPC status and the host's metrics report about history.</summary>
/// <param name="PointsSpooled">Points whose batch was completed in the on-disk spool, since start-up.</param>
/// <param name="PointsPending">Points this process spooled that the server has not yet taken (those being sent included).</param>
/// <param name="WriteFailures">Write requests that did not deliver their batch (server down, timeout, 5xx, 4xx), each attempt counted.</param>
public sealed record HistoryStatus(
    HistoryState State,
    long PointsWritten,
    long PointsDropped,
    long SpoolBytes,
    long SpoolMaxBytes,
    int SpoolBatches,
    int QueuedBatches,
    string LastError,
    long PointsRecovered = 0,
    long PointsSpooled = 0,
    long PointsPending = 0,
    long WriteFailures = 0);

/// <summary>
/// Writes activation history: reads frames from the pipeline's bounded subscription (never blocking the
/// publisher), encodes them into pooled line-protocol batches, and delivers the batches in order on a task of
/// its own. Spool first: every batch is appended to the on-disk <see cref="HistorySpool"/> as it is filled and
/// deleted from it once delivered, so a kill (SIGKILL, power cut with fsync) loses nothing the writer accepted;
/// delivery sends the oldest batch first, with exponential backoff and jitter (Polly), until the server takes it.
/// Queue between batcher and sender: <see cref="QueueCapacity"/> batches kept in memory as well, so the sender
/// need not read back what it has just been given; when full, the batch is simply left to the spool (order is
/// kept by sequence numbers), so memory stays bounded however long the outage.
/// </summary>
public sealed class HistoryService : IAsyncDisposable
{
    public const int QueueCapacity = 4;

    /// <summary>The name of the histogram of write requests' durations, on the meter the host gives.</summary>
    public const string WriteDurationInstrument = "emg.history.write.duration";

    private readonly HistoryOptions _options;
    private readonly IHistorySessionProvider _sessions;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly InfluxTransport _transport;
    private readonly LineProtocolEncoder _encoder;
    private readonly SampleClock _clock = new();
    private readonly Channel<LineBuffer> _queue;
    private readonly ConcurrentQueue<LineBuffer> _free = new();
    private readonly ConcurrentQueue<Action<LineBuffer>> _records = new();
    private readonly ResiliencePipeline<SendResult> _retry;
    private readonly LineBuffer _spoolRead = new();
    private readonly CancellationTokenSource _kill = new();
    private readonly Histogram<double>? _writeDuration;
    private OpenBatch? _open; // the spool file of the batch being filled (batcher only)
    private int _journaled;   // bytes of the batch being filled already in that file
    private bool _journalFailed; // the spool could not take the batch being filled: it goes on in memory only
    private bool _spoolFailureReported;
    private long _sequence;
    private long _written;
    private long _dropped;
    private long _spooled;
    private long _writeFailures;
    private int _state = (int)HistoryState.Starting;
    private string _lastError = "";
    private bool _outageReported;
    private bool _refusalReported;

    /// <param name="meter">
    /// Where to record each write request's duration (<see cref="WriteDurationInstrument"/>, ms); the counters are in
    /// <see cref="Status"/>, which the host publishes as metrics from its status snapshot.
    /// </param>
    public HistoryService(HistoryOptions options, IHistorySessionProvider sessions, ILogger<HistoryService> logger, TimeProvider? time = null, Meter? meter = null)
    {
        _options = options;
        _sessions = sessions;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _transport = new InfluxTransport(options);
        _encoder = new LineProtocolEncoder(options.Station);
        Spool = new HistorySpool(options.SpoolDirectory, options.SpoolMaxBytes, options.SpoolFsync);
        _sequence = Spool.LastSequence;
        _queue = Channel.CreateBounded<LineBuffer>(new BoundedChannelOptions(QueueCapacity) { SingleReader = true, SingleWriter = true });
        _retry = DeliveryRetry.Build(options, maxAttempts: int.MaxValue, ReportUnavailable);
        _writeDuration = meter?.CreateHistogram<double>(WriteDurationInstrument, "ms",
            "Duration of write requests to the history server, each attempt (a timeout counts as its full wait)",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = WriteDurationBuckets });
    }

    public HistorySpool Spool { get; }

    public HistoryState State => (HistoryState)Volatile.Read(ref _state);

    public long PointsWritten => Interlocked.Read(ref _written);

    public long PointsDropped => Interlocked.Read(ref _dropped);

    public long PointsSpooled => Interlocked.Read(ref _spooled);

    /// <summary>Write requests that did not deliver their batch, each attempt counted.</summary>
    public long WriteFailures => Interlocked.Read(ref _writeFailures);

    // A write to a server on the LAN takes milliseconds; one across the internet, tens to hundreds; the request
    // timeout (10 s by default) is the top.
    private static readonly double[] WriteDurationBuckets = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000];

    /// <summary>Batches also held in memory for the sender (all of them are in the spool too).</summary>
    public int QueuedBatches => _queue.Reader.Count;

    public HistoryStatus Status => new(State, PointsWritten, PointsDropped, Spool.Bytes, Spool.MaxBytes, Spool.Count, QueuedBatches, Volatile.Read(ref _lastError),
        Spool.RecoveredPoints, PointsSpooled, Spool.Points, WriteFailures);

    /// <summary>True when everything handed to the writer so far has reached the server.</summary>
    public bool IsIdle => Spool.Count == 0 && _queue.Reader.Count == 0 && Volatile.Read(ref _pending) == 0;

    private int _pending; // points in the batch being filled or being sent

    /// <summary>Queues a session event (start, stop, marker) for the next batch.</summary>
    public void RecordEvent(string kind, string label, DateTimeOffset time)
    {
        HistorySession? session = _sessions.Current;
        long ns = SampleClock.ToUnixNs(time);
        _records.Enqueue(b => _encoder.AppendEvent(b, kind, label, session, ns));
    }

    /// <summary>Queues a session's summary for the next batch (time: the session's end).</summary>
    public void RecordSummary(HistorySession session, Sessions.SessionSummary summary, DateTimeOffset end)
    {
        long ns = SampleClock.ToUnixNs(end);
        _records.Enqueue(b => _encoder.AppendSummary(b, session, summary, ns));
    }

    /// <summary>
    /// Runs until <paramref name="cancellationToken"/> fires: batches frames from <paramref name="frames"/> (a
    /// <see cref="Subscription{T}.Reader"/>) and delivers them. Frames completing does not end it: the backlog is
    /// still delivered. On cancellation the batch being filled is completed in the spool; what is undelivered is
    /// sent on the next start.
    /// </summary>
    public async Task RunAsync(ChannelReader<ActivationFrame> frames, CancellationToken cancellationToken)
    {
        HistoryLog.Started(_logger, _options.Url, _options.Org, _options.Bucket, _options.Station, _options.SpoolDirectory, Spool.Count);
        if (Spool.RecoveredPoints > 0)
        {
            HistoryLog.RecoveredAfterKill(_logger, Spool.RecoveredPoints, Spool.RecoveredBatches);
        }
        using var run = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _kill.Token);
        // The sender outlives the batcher by up to StopGrace on a graceful stop: what was taken in goes out now, not at
        // the next start (a kill stops it at once).
        using var stopDelivery = CancellationTokenSource.CreateLinkedTokenSource(_kill.Token);
        Task delivery = Task.Run(() => DeliverAsync(stopDelivery.Token), CancellationToken.None);
        try
        {
            await BatchAsync(frames, run.Token).ConfigureAwait(false);
        }
        finally
        {
            _queue.Writer.TryComplete();
            if (!_kill.IsCancellationRequested)
            {
                // The sender ends by itself once the queue is empty and the spool sent; a server that is down keeps it
                // retrying: then the spool keeps the rest for the next start.
                await Task.WhenAny(delivery, Task.Delay(StopGrace, _time)).ConfigureAwait(false); // never throws
            }
            await stopDelivery.CancelAsync().ConfigureAwait(false);
            await delivery.ConfigureAwait(false);
            ReleaseQueue();
            if (Spool.Count > 0 && !_kill.IsCancellationRequested)
            {
                HistoryLog.StoppedWithBacklog(_logger, Spool.Points, Spool.Count);
            }
        }
    }

    /// <summary>How long a graceful stop waits for the sender to deliver what is queued and spooled.</summary>
    internal static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Stops the writer the way SIGKILL would, for tests: its tasks end without completing the batch being filled
    /// or anything else; only what is already in the spool's files remains for the next start.
    /// </summary>
    internal void Kill() => _kill.Cancel();

    /// <summary>Convenience for the host: runs on a subscription of the pipeline's activation fan-out.</summary>
    public Task RunAsync(Subscription<ActivationFrame> subscription, CancellationToken cancellationToken) =>
        RunAsync(subscription.Reader, cancellationToken);

    private async Task BatchAsync(ChannelReader<ActivationFrame> frames, CancellationToken ct)
    {
        LineBuffer batch = Rent();
        long started = 0;
        bool framesDone = false;
        Task<bool>? waiting = null;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                while (frames.TryRead(out ActivationFrame? frame))
                {
                    if (batch.Points == 0)
                    {
                        started = _time.GetTimestamp();
                    }
                    HistorySession? session = _sessions.For(frame.SampleIndex);
                    // A recorded session's points take the recording's timeline (what back-fill reproduces); others the host-fitted clock.
                    long ns = session?.Timeline is { } timeline
                        ? timeline.ToUnixNs(frame.SampleIndex)
                        : _clock.ToUnixNanoseconds(frame.SampleTimeSeconds, frame.ComputedAt);
                    _encoder.AppendActivation(batch, frame, session, ns);
                    Volatile.Write(ref _pending, batch.Points);
                    if (batch.Points >= _options.BatchSize)
                    {
                        if (HandOff(batch))
                        {
                            await WaitForSenderAsync(batch, ct).ConfigureAwait(false);
                        }
                        batch = Rent();
                    }
                }
                Journal(batch); // before the next wait: what was read from the subscription is on disk
                while (_records.TryDequeue(out Action<LineBuffer>? record))
                {
                    if (batch.Points == 0)
                    {
                        started = _time.GetTimestamp();
                    }
                    record(batch);
                    Volatile.Write(ref _pending, batch.Points);
                    Journal(batch);
                }
                TimeSpan wait = _options.FlushInterval;
                if (batch.Points > 0)
                {
                    TimeSpan age = _time.GetElapsedTime(started);
                    if (age >= _options.FlushInterval)
                    {
                        if (HandOff(batch))
                        {
                            await WaitForSenderAsync(batch, ct).ConfigureAwait(false);
                        }
                        batch = Rent();
                    }
                    else
                    {
                        wait = _options.FlushInterval - age;
                    }
                }
                if (!framesDone)
                {
                    waiting ??= frames.WaitToReadAsync(ct).AsTask();
                }
                Task delay = Task.Delay(wait, _time, ct);
                await (waiting is null ? delay : Task.WhenAny(waiting, delay)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                if (waiting is { IsCompleted: true })
                {
                    framesDone = !waiting.IsCompletedSuccessfully || !waiting.Result;
                    waiting = null;
                }
            }
        }
        finally
        {
            if (_kill.IsCancellationRequested)
            {
                _open?.Dispose(); // left as a killed process leaves it: the next start recovers it
                _open = null;
            }
            else if (batch.Points > 0 && HandOff(batch))
            {
                Dropped(batch, spoolFull: false); // stopping, the spool unwritable and the sender behind
                _free.Enqueue(batch);
            }
        }
    }

    private LineBuffer Rent()
    {
        if (!_free.TryDequeue(out LineBuffer? b))
        {
            b = new LineBuffer(Math.Max(64 * 1024, _options.BatchSize * 192));
        }
        b.Clear();
        b.Sequence = Interlocked.Increment(ref _sequence);
        b.Spooled = false;
        _journalFailed = false; // each batch tries the spool again
        return b;
    }

    /// <summary>Appends what is new in the batch being filled to its spool file (one unbuffered write).</summary>
    private void Journal(LineBuffer batch)
    {
        if (batch.Length == _journaled || _journalFailed)
        {
            return;
        }
        try
        {
            _open ??= Spool.Begin(batch.Sequence);
            _open.Append(batch.Written[_journaled..]);
            _journaled = batch.Length;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            SpoolFailed(e);
        }
    }

    /// <summary>
    /// The spool cannot be written (disk full, folder gone, no permission): live history goes on from memory, which
    /// a kill or an outage would lose; loud, because the durability promise is off until the spool works again.
    /// </summary>
    private void SpoolFailed(Exception e)
    {
        _journalFailed = true;
        _open?.Dispose();
        _open = null;
        Volatile.Write(ref _lastError, $"spool {_options.SpoolDirectory} cannot be written: {e.Message}");
        if (!_spoolFailureReported)
        {
            _spoolFailureReported = true;
            HistoryLog.SpoolUnwritable(_logger, _options.SpoolDirectory, e.Message);
        }
    }

    /// <summary>Completes a batch in the spool and offers it to the sender; true when the spool could not take it
    /// and the sender is behind, i.e. the caller must wait for the sender (the batch exists nowhere else).</summary>
    private bool HandOff(LineBuffer batch)
    {
        Journal(batch);
        Volatile.Write(ref _pending, 0);
        bool full = false;
        if (!_journalFailed)
        {
            try
            {
                full = !Spool.Commit(_open!, batch);
                batch.Spooled = !full;
                _spoolFailureReported = false;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                SpoolFailed(e);
            }
        }
        _open = null;
        _journaled = 0;
        if (full)
        {
            Dropped(batch, spoolFull: true);
            _free.Enqueue(batch);
            return false;
        }
        if (batch.Spooled)
        {
            Interlocked.Add(ref _spooled, batch.Points);
        }
        if (_queue.Writer.TryWrite(batch))
        {
            return false;
        }
        if (!batch.Spooled)
        {
            return true;
        }
        // The sender is behind (server slow or away): the batch is on disk already, so nobody waits.
        _free.Enqueue(batch);
        return false;
    }

    /// <summary>Without a spool the batcher waits for the sender (the pipeline's subscription then drops oldest, counted).</summary>
    private async Task WaitForSenderAsync(LineBuffer batch, CancellationToken ct)
    {
        try
        {
            await _queue.Writer.WriteAsync(batch, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Dropped(batch, spoolFull: false);
            _free.Enqueue(batch);
        }
    }

    private void Dropped(LineBuffer batch, bool spoolFull)
    {
        Interlocked.Add(ref _dropped, batch.Points);
        if (!spoolFull)
        {
            HistoryLog.DroppedUnspooled(_logger, batch.Points, _options.SpoolDirectory);
            return;
        }
        SetState(HistoryState.SpoolFull);
        Volatile.Write(ref _lastError, $"spool full ({Spool.Bytes} of {Spool.MaxBytes} bytes); points dropped");
        HistoryLog.SpoolFull(_logger, Spool.Bytes, Spool.MaxBytes, batch.Points);
    }

    private void ReleaseQueue()
    {
        while (_queue.Reader.TryRead(out LineBuffer? batch))
        {
            _free.Enqueue(batch); // its spool file stays until it is delivered
        }
    }

    private async Task DeliverAsync(CancellationToken ct)
    {
        try
        {
            while (!ct.IsCancellationRequested)
            {
                bool haveQueued = _queue.Reader.TryPeek(out LineBuffer? queued);
                if (Spool.TryPeekOldest(out long oldest) && (!haveQueued || oldest < queued!.Sequence))
                {
                    await DeliverSpooledAsync(oldest, ct).ConfigureAwait(false);
                }
                else if (haveQueued && _queue.Reader.TryRead(out LineBuffer? batch))
                {
                    if (batch.Spooled && !Spool.Contains(batch.Sequence))
                    {
                        // Sent from the spool already (the sender found it there before it reached the queue).
                        _free.Enqueue(batch);
                        continue;
                    }
                    SendResult result = await SendAsync(batch, ct).ConfigureAwait(false);
                    long sequence = batch.Sequence;
                    int points = batch.Points;
                    bool spooled = batch.Spooled;
                    if (!spooled && result.Outcome != SendOutcome.Delivered)
                    {
                        Dropped(batch, spoolFull: false); // in memory only (the spool could not take it): nothing to retry from
                    }
                    _free.Enqueue(batch);
                    switch (result.Outcome)
                    {
                        case SendOutcome.Delivered:
                            Spool.Delete(sequence, points);
                            Delivered(points);
                            break;
                        case SendOutcome.Transient:
                            ReportUnavailable(result); // still in the spool: the spool branch retries it with backoff
                            break;
                        case SendOutcome.Malformed:
                            Malformed(sequence, points, result);
                            break;
                        case SendOutcome.Refused:
                            await HandleRefusalAsync(result, ct).ConfigureAwait(false);
                            break;
                    }
                }
                else if (!await _queue.Reader.WaitToReadAsync(ct).ConfigureAwait(false))
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private async Task DeliverSpooledAsync(long sequence, CancellationToken ct)
    {
        Spool.Read(sequence, _spoolRead);
        SendResult result = await _retry.ExecuteAsync(
            static (state, token) => new ValueTask<SendResult>(state.Service.SendAsync(state.Batch, token)),
            (Service: this, Batch: _spoolRead), ct).ConfigureAwait(false);
        switch (result.Outcome)
        {
            case SendOutcome.Delivered:
                Spool.Delete(sequence, _spoolRead.Points);
                Delivered(_spoolRead.Points);
                if (Spool.Count == 0 && _outageReported)
                {
                    _outageReported = false;
                    HistoryLog.Recovered(_logger);
                }
                break;
            case SendOutcome.Malformed:
                Malformed(sequence, _spoolRead.Points, result);
                break;
            case SendOutcome.Refused:
                await HandleRefusalAsync(result, ct).ConfigureAwait(false);
                break;
        }
    }

    /// <summary>One write request, timed and counted: every attempt, the retried ones included.</summary>
    private async Task<SendResult> SendAsync(LineBuffer batch, CancellationToken ct)
    {
        long started = _time.GetTimestamp();
        SendResult result = await _transport.SendAsync(batch, ct).ConfigureAwait(false); // throws when stopping
        _writeDuration?.Record(_time.GetElapsedTime(started).TotalMilliseconds);
        if (result.Outcome != SendOutcome.Delivered)
        {
            Interlocked.Increment(ref _writeFailures);
        }
        return result;
    }

    private void Malformed(long sequence, int points, SendResult result)
    {
        Spool.Quarantine(sequence, points);
        Volatile.Write(ref _lastError, $"HTTP {result.Status}: batch rejected as malformed: {result.Message}");
        HistoryLog.Malformed(_logger, sequence, points, result.Status, result.Message);
    }

    private async Task HandleRefusalAsync(SendResult result, CancellationToken ct)
    {
        SetState(HistoryState.Refused);
        string hint = result.Status switch
        {
            401 => "the token (History:Token / History:TokenFile) is not valid.",
            403 => "the token may not write to this bucket.",
            _ => $"org '{_options.Org}' or bucket '{_options.Bucket}' does not exist on {_options.Url}.",
        };
        Volatile.Write(ref _lastError, $"HTTP {result.Status}: {hint}");
        if (!_refusalReported)
        {
            _refusalReported = true; // once per episode, not once per probe
            HistoryLog.Refused(_logger, result.Status, hint, _options.SpoolDirectory, _options.RejectedProbeInterval, result.Message);
        }
        // Nothing is sent until the probe interval has passed; meanwhile new batches wait in the spool.
        await Task.Delay(_options.RejectedProbeInterval, _time, ct).ConfigureAwait(false);
    }

    private void Delivered(int points)
    {
        Interlocked.Add(ref _written, points);
        _refusalReported = false;
        if (State != HistoryState.SpoolFull || Spool.Bytes < Spool.MaxBytes / 2)
        {
            SetState(Spool.Count == 0 ? HistoryState.Delivering : HistoryState.Retrying);
        }
    }

    private void ReportUnavailable(SendResult result)
    {
        if (State != HistoryState.SpoolFull)
        {
            SetState(HistoryState.Retrying);
        }
        Volatile.Write(ref _lastError, result.Status == 0 ? result.Message : $"HTTP {result.Status}: {result.Message}");
        if (!_outageReported)
        {
            _outageReported = true;
            HistoryLog.Unavailable(_logger, result.Status, result.Message);
        }
    }

    private void SetState(HistoryState state) => Volatile.Write(ref _state, (int)state);

    public ValueTask DisposeAsync()
    {
        _transport.Dispose();
        _spoolRead.Dispose();
        _open?.Dispose();
        _kill.Dispose();
        while (_free.TryDequeue(out LineBuffer? b))
        {
            b.Dispose();
        }
        return ValueTask.CompletedTask;
    }
}
