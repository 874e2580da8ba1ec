namespace EmgBiofeedback.Recording;

/// <summary>
/// An output file that appears complete or not at all: written to a temporary file in the destination's folder
/// (same file system, so the rename is atomic) and renamed over the destination by <see cref="Commit"/>. Disposing
/// without committing deletes the temporary file, so a failed import, export or process run leaves an existing
/// output untouched. The recorder does not use it: its files are crash-safe record by record instead.
/// </summary>
public sealed class AtomicOutput : IDisposable
{
    private readonly string _temporary;
    private bool _committed;

    private AtomicOutput(string destination, string temporary, FileStream stream)
    {
        Destination = destination;
        _temporary = temporary;
        Stream = stream;
    }

    /// <summary>The full path the output gets when committed.</summary>
    public string Destination { get; }

    /// <summary>The temporary file being written (readable and seekable).</summary>
    public FileStream Stream { get; }

    /// <summary>
    /// Opens a temporary file for <paramref name="destination"/>. Throws <see cref="ArgumentException"/> when the
    /// destination is one of <paramref name="inputs"/> (full paths compared after resolving symbolic links), and
    /// <see cref="DirectoryNotFoundException"/> when its folder does not exist.
    /// </summary>
    public static AtomicOutput Create(string destination, params string[] inputs)
    {
        string full = Path.GetFullPath(destination);
        RefuseInput(full, inputs);
        string folder = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(folder))
        {
            throw new DirectoryNotFoundException($"The output's folder {folder} does not exist.");
        }
        if (Directory.Exists(full))
        {
            throw new IOException($"The output {full} is a folder.");
        }
        string temporary = Path.Combine(folder, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16);
        return new AtomicOutput(full, temporary, stream);
    }

    /// <summary>Throws a one-line <see cref="ArgumentException"/> when <paramref name="destination"/> is one of the inputs.</summary>
    public static void RefuseInput(string destination, params string[] inputs)
    {
        string output = RecordingsFolder.RealPath(Path.GetFullPath(destination));
        foreach (string input in inputs)
        {
            if (string.Equals(output, RecordingsFolder.RealPath(Path.GetFullPath(input)), StringComparison.Ordinal))
            {
                throw new ArgumentException($"The output {destination} is the input file {input}: choose another output path.");
            }
        }
    }

    /// <summary>Makes the output durable and renames it over the destination.</summary>
    public void Commit()
    {
        ObjectDisposedException.ThrowIf(_committed, this);
        Stream.Flush(flushToDisk: true);
        Stream.Dispose();
        File.Move(_temporary, Destination, overwrite: true);
        _committed = true;
    }

    public void Dispose()
    {
        if (_committed)
        {
            return;
        }
        Stream.Dispose();
        try
        {
            File.Delete(_temporary);
        }
        catch (IOException)
        {
            // Best effort: a leftover ".name.guid.tmp" is harmless and never mistaken for the output.
        }
    }
}
