using System.Globalization;

namespace EmgBiofeedback.History;

/// <summary>
/// Batches that could not be delivered yet, one file per batch named by its sequence number, so they survive a
/// restart and are delivered oldest first. Bounded by <see cref="MaxBytes"/>: a batch that does not fit is
/// refused (the caller counts and reports it; the session recording remains the source to back-fill from).
/// A file is written as <c>.tmp</c> and renamed once complete, so a crash never leaves half a batch to send;
/// with <see cref="SpoolFsyncPolicy.EveryBatch"/> it is flushed to the device before the rename.
/// Batches the server refused as malformed (400) move to <c>rejected/</c>, kept but not resent.
/// Thread-safe: the batcher spills into it while the sender drains it.
/// </summary>
public sealed class HistorySpool
{
    private const string Extension = ".lp";
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
        foreach (string tmp in System.IO.Directory.EnumerateFiles(directory, "*.tmp"))
        {
            File.Delete(tmp); // a batch cut off by a crash: its points are still in memory of nobody, the recording has them
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

    public string Directory { get; }

    public long MaxBytes { get; }

    public long Bytes { get { lock (_gate) { return _bytes; } } }

    public int Count { get { lock (_gate) { return _entries.Count; } } }

    /// <summary>Points spooled by this process and not yet delivered (files from an earlier run are not counted).</summary>
    public long Points { get { lock (_gate) { return _points; } } }

    /// <summary>The highest sequence on disk, so a restarted writer numbers after it.</summary>
    public long LastSequence { get { lock (_gate) { return _entries.Count == 0 ? 0 : _entries.Keys.Max(); } } }

    /// <summary>Keeps a batch; false when it would exceed <see cref="MaxBytes"/>.</summary>
    public bool TryAppend(LineBuffer batch)
    {
        lock (_gate)
        {
            if (_bytes + batch.Length > MaxBytes)
            {
                return false;
            }
            string path = PathOf(batch.Sequence);
            string tmp = path + ".tmp";
            using (var stream = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.None))
            {
                stream.Write(batch.Written);
                if (_fsync == SpoolFsyncPolicy.EveryBatch)
                {
                    stream.Flush(flushToDisk: true);
                }
            }
            File.Move(tmp, path, overwrite: true);
            _entries[batch.Sequence] = batch.Length;
            _bytes += batch.Length;
            _points += batch.Points;
            return true;
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

    private string PathOf(long sequence) => Path.Combine(Directory, sequence.ToString("D19", CultureInfo.InvariantCulture) + Extension);
}
