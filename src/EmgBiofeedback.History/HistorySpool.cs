using System.Globalization;

namespace EmgBiofeedback.History;

/// <summary>
/// Every batch that is not yet delivered, one file per batch named by its sequence number, so it survives a
/// restart (or a SIGKILL) and is delivered oldest first. The writer spools first: a batch's points are appended
/// to <c>&lt;sequence&gt;.open</c> as they are encoded (<see cref="Begin"/>, <see cref="OpenBatch.Append"/>), the file
/// becomes <c>&lt;sequence&gt;.lp</c> when the batch is complete (<see cref="Commit"/>) and is deleted once the server
/// has taken it. So nothing the writer accepted lives only in memory, outage or not.
/// A file left <c>.open</c> (or <c>.tmp</c>) by a killed process is recovered on the next start: cut after its last
/// complete line and kept as a batch (<see cref="RecoveredPoints"/>), so a kill loses at most a line cut in half
/// by a power loss. With <see cref="SpoolFsyncPolicy.EveryBatch"/> a batch is flushed to the device when committed.
/// Bounded by <see cref="MaxBytes"/>: a batch that does not fit is refused at commit (the caller counts and reports
/// it; the session recording remains the source to back-fill from).
/// Batches the server refused as malformed (400) move to <c>rejected/</c>, kept but not resent.
/// Thread-safe: the batcher commits into it while the sender drains it.
/// </summary>
public sealed class HistorySpool
{
    private const string Extension = ".lp";
    private const string OpenExtension = ".open";
    private readonly Lock _gate = new();
    private readonly SortedDictionary<long, long> _entries = []; // sequence -> bytes
    private readonly SpoolFsyncPolicy _fsync;
    private long _bytes;
    private long _points;

    public HistorySpool(string directory, long maxBytes, SpoolFsyncPolicy fsync)
    {
        Directory = directory;
        MaxBytes = maxBytes;
        _fsync = fsync;
        System.IO.Directory.CreateDirectory(directory);
        foreach (string partial in System.IO.Directory.EnumerateFiles(directory, "*" + OpenExtension)
            .Concat(System.IO.Directory.EnumerateFiles(directory, "*" + Extension + ".tmp")))
        {
            RecoveredPoints += Recover(partial);
        }
        foreach (string file in System.IO.Directory.EnumerateFiles(directory, "*" + Extension))
        {
            if (long.TryParse(Path.GetFileNameWithoutExtension(file), NumberStyles.None, CultureInfo.InvariantCulture, out long seq))
            {
                long length = new FileInfo(file).Length;
                _entries[seq] = length;
                _bytes += length;
            }
        }
    }

    /// <summary>Points found in batches that a previous process was still filling or writing when it was killed; they are kept and sent.</summary>
    public long RecoveredPoints { get; }

    /// <summary>Batch files found partial on start (a killed process): how many.</summary>
    public int RecoveredBatches { get; private set; }

    public string Directory { get; }

    public long MaxBytes { get; }

    public long Bytes { get { lock (_gate) { return _bytes; } } }

    public int Count { get { lock (_gate) { return _entries.Count; } } }

    /// <summary>Points spooled by this process and not yet delivered (files from an earlier run are not counted).</summary>
    public long Points { get { lock (_gate) { return _points; } } }

    /// <summary>The highest sequence on disk, so a restarted writer numbers after it.</summary>
    public long LastSequence { get { lock (_gate) { return _entries.Count == 0 ? 0 : _entries.Keys.Max(); } } }

    /// <summary>Starts the file of batch <paramref name="sequence"/>; its points are appended as they are encoded.</summary>
    public OpenBatch Begin(long sequence) => new(Path.ChangeExtension(PathOf(sequence), OpenExtension), sequence);

    /// <summary>
    /// Completes a batch begun with <see cref="Begin"/> (everything in <paramref name="batch"/> must have been appended):
    /// flushed to the device per <see cref="SpoolFsyncPolicy"/>, renamed to <c>.lp</c>, counted. False, and the file is
    /// gone, when it would exceed <see cref="MaxBytes"/>.
    /// </summary>
    public bool Commit(OpenBatch open, LineBuffer batch)
    {
        open.Close(_fsync == SpoolFsyncPolicy.EveryBatch);
        lock (_gate)
        {
            if (_bytes + batch.Length > MaxBytes)
            {
                File.Delete(open.Path);
                return false;
            }
            File.Move(open.Path, PathOf(batch.Sequence), overwrite: true);
            _entries[batch.Sequence] = batch.Length;
            _bytes += batch.Length;
            _points += batch.Points;
            return true;
        }
    }

    /// <summary>True while batch <paramref name="sequence"/> is in the spool (not delivered, not quarantined).</summary>
    public bool Contains(long sequence)
    {
        lock (_gate)
        {
            return _entries.ContainsKey(sequence);
        }
    }

    /// <summary>The oldest batch's sequence, if any.</summary>
    public bool TryPeekOldest(out long sequence)
    {
        lock (_gate)
        {
            foreach (long seq in _entries.Keys)
            {
                sequence = seq;
                return true;
            }
            sequence = 0;
            return false;
        }
    }

    /// <summary>Reads a spooled batch into <paramref name="into"/> (cleared first).</summary>
    public void Read(long sequence, LineBuffer into)
    {
        into.Clear();
        using var stream = new FileStream(PathOf(sequence), FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        int length = checked((int)stream.Length);
        Span<byte> span = into.GetSpan(length);
        stream.ReadExactly(span[..length]);
        into.Advance(length);
        into.Sequence = sequence;
        into.Points = span[..length].Count((byte)'\n');
    }

    /// <summary>Forgets a batch the server has accepted.</summary>
    public void Delete(long sequence, int points) => Remove(sequence, points, quarantine: false);

    /// <summary>Moves a batch the server will never accept to <c>rejected/</c>.</summary>
    public void Quarantine(long sequence, int points) => Remove(sequence, points, quarantine: true);

    private void Remove(long sequence, int points, bool quarantine)
    {
        lock (_gate)
        {
            if (!_entries.Remove(sequence, out long length))
            {
                return;
            }
            if (quarantine)
            {
                string rejected = Path.Combine(Directory, "rejected");
                System.IO.Directory.CreateDirectory(rejected);
                File.Move(PathOf(sequence), Path.Combine(rejected, Path.GetFileName(PathOf(sequence))), overwrite: true);
            }
            else
            {
                File.Delete(PathOf(sequence));
            }
            _bytes -= length;
            _points = Math.Max(0, _points - points);
        }
    }

    /// <summary>Keeps a partial batch left by a killed process: cut after its last complete line, renamed to <c>.lp</c>.</summary>
    private long Recover(string partial)
    {
        string name = Path.GetFileName(partial);
        string digits = name[..name.IndexOf('.', StringComparison.Ordinal)];
        byte[] bytes = File.ReadAllBytes(partial);
        int end = Array.LastIndexOf(bytes, (byte)'\n') + 1;
        if (end == 0 || !long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out long seq))
        {
            File.Delete(partial);
            return 0;
        }
        using (var stream = new FileStream(partial, FileMode.Open, FileAccess.Write))
        {
            stream.SetLength(end);
            stream.Flush(flushToDisk: _fsync == SpoolFsyncPolicy.EveryBatch);
        }
        File.Move(partial, PathOf(seq), overwrite: true);
        RecoveredBatches++;
        return bytes.AsSpan(0, end).Count((byte)'\n');
    }

    private string PathOf(long sequence) => Path.Combine(Directory, sequence.ToString("D19", CultureInfo.InvariantCulture) + Extension);
}

/// <summary>
/// A batch being written to the spool as it is filled. Each <see cref="Append"/> is one unbuffered write to the
/// file (the OS keeps it if the process is killed); <see cref="HistorySpool.Commit"/> completes it.
/// </summary>
public sealed class OpenBatch : IDisposable
{
    private readonly FileStream _stream;

    internal OpenBatch(string path, long sequence)
    {
        Path = path;
        Sequence = sequence;
        _stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, bufferSize: 0, FileOptions.None);
    }

    public string Path { get; }

    public long Sequence { get; }

    /// <summary>Bytes in the file so far.</summary>
    public long Length { get; private set; }

    public void Append(ReadOnlySpan<byte> bytes)
    {
        _stream.Write(bytes);
        Length += bytes.Length;
    }

    internal void Close(bool flushToDisk)
    {
        if (flushToDisk)
        {
            _stream.Flush(flushToDisk: true);
        }
        _stream.Dispose();
    }

    /// <summary>Closes the file without completing it, as a killed process leaves it (for tests and shutdown of a failed writer).</summary>
    public void Dispose() => _stream.Dispose();
}
