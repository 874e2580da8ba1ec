using System.Diagnostics;

namespace EmgBiofeedback.TestSupport;

/// <summary>
/// A folder on a small tmpfs of its own (mount -t tmpfs -o size=...), so that a test can fill its file system to the last
/// byte without touching the machine's disks. Needs root, as the suite has here and in CI; a refused mount throws with the
/// reason (it is never skipped quietly).
/// </summary>
public sealed class TmpfsFolder : IDisposable
{
    private TmpfsFolder(string path, long bytes)
    {
        Path = path;
        Bytes = bytes;
    }

    public string Path { get; }

    public long Bytes { get; }

    /// <summary>Mounts a tmpfs of <paramref name="bytes"/> on <paramref name="path"/> (created when missing), or on a new temporary folder.</summary>
    public static TmpfsFolder Mount(long bytes, string? path = null)
    {
        path ??= Directory.CreateTempSubdirectory("emg-tmpfs-").FullName;
        Directory.CreateDirectory(path);
        using Process mount = Process.Start(new ProcessStartInfo("mount", ["-t", "tmpfs", "-o", $"size={bytes}", "tmpfs", path]) { RedirectStandardError = true })!;
        string error = mount.StandardError.ReadToEnd();
        mount.WaitForExit();
        if (mount.ExitCode != 0)
        {
            throw new InvalidOperationException($"mount -t tmpfs on {path} was refused ({error.Trim()}): this test fills a file system of its own and needs root (the suite runs as root here and in CI).");
        }
        return new TmpfsFolder(path, bytes);
    }

    /// <summary>Fills the file system with <paramref name="name"/> until not one more byte fits; returns the bytes written.</summary>
    public long Fill(string name = "filler")
    {
        long written = 0;
        byte[] block = new byte[1 << 20];
        using var f = new FileStream(System.IO.Path.Combine(Path, name), FileMode.Create, FileAccess.Write, FileShare.None, 0);
        foreach (int size in new[] { block.Length, 4096, 1 })
        {
            try
            {
                while (true)
                {
                    f.Write(block, 0, size);
                    written += size;
                }
            }
            catch (IOException)
            {
                // ENOSPC: go on with smaller writes, down to single bytes
            }
        }
        return written;
    }

    public void Free(string name = "filler") => File.Delete(System.IO.Path.Combine(Path, name));

    public void Dispose()
    {
        using (Process umount = Process.Start("umount", ["-l", Path])!)
        {
            umount.WaitForExit();
        }
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // a leftover temp folder is harmless
        }
    }
}
