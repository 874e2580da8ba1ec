namespace EmgBiofeedback.Recording;

/// <summary>A path that would leave the recordings folder, or names nothing usable in it.</summary>
public sealed class RecordingPathException(string message) : Exception(message);

/// <summary>
/// The one folder recordings are written to and replayed from. Every name a client gives (gRPC, configuration,
/// CLI against a folder) goes through <see cref="Resolve"/>, which refuses absolute paths, ".." that climbs out,
/// and symbolic links (of the file or any folder on the way) whose target lies outside the folder.
/// </summary>
public sealed class RecordingsFolder
{
    public RecordingsFolder(string root)
    {
        if (string.IsNullOrWhiteSpace(root))
        {
            throw new ArgumentException("The recordings folder must be named.", nameof(root));
        }
        Directory.CreateDirectory(root);
        Root = RealPath(Path.GetFullPath(root));
    }

    /// <summary>The folder's full path with symbolic links resolved.</summary>
    public string Root { get; }

    /// <summary>File name of a new recording: <c>yyyyMMdd-HHmmss_station_session.bdf</c>, no patient data.</summary>
    public static string FileName(DateTime start, string station, string session) =>
        $"{start:yyyyMMdd-HHmmss}_{Token(station)}_{Token(session)}.bdf";

    /// <summary>Full path of a new recording's file (not yet created); a numeric suffix avoids overwriting.</summary>
    public string NewRecordingPath(DateTime start, string station, string session)
    {
        string name = FileName(start, station, session);
        string path = Path.Combine(Root, name);
        for (int i = 2; File.Exists(path); i++)
        {
            path = Path.Combine(Root, $"{Path.GetFileNameWithoutExtension(name)}-{i}.bdf");
        }
        return path;
    }

    /// <summary>
    /// The full path of <paramref name="relativePath"/> inside the folder, with links resolved. Throws
    /// <see cref="RecordingPathException"/> when it is absolute or leads outside the folder.
    /// </summary>
    public string Resolve(string relativePath)
    {
        if (string.IsNullOrWhiteSpace(relativePath))
        {
            throw new RecordingPathException("No recording named: give a file name inside the recordings folder.");
        }
        if (Path.IsPathRooted(relativePath) || Path.IsPathFullyQualified(relativePath))
        {
            throw new RecordingPathException($"Refused \"{relativePath}\": absolute paths are not allowed; name a recording relative to the recordings folder ({Root}).");
        }
        string full = Path.GetFullPath(Path.Combine(Root, relativePath));
        if (!IsInside(full))
        {
            throw new RecordingPathException($"Refused \"{relativePath}\": it leads outside the recordings folder ({Root}).");
        }
        string real = RealPath(full);
        if (!IsInside(real))
        {
            throw new RecordingPathException($"Refused \"{relativePath}\": a symbolic link leads outside the recordings folder ({Root}) to {real}.");
        }
        return real;
    }

    private bool IsInside(string full) =>
        full.StartsWith(Root + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    /// <summary>Resolves symbolic links component by component (as realpath(3)); missing parts are kept as they are.</summary>
    internal static string RealPath(string fullPath)
    {
        string root = Path.GetPathRoot(fullPath)!;
        string current = root;
        string[] parts = fullPath[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
        for (int i = 0; i < parts.Length; i++)
        {
            string next = Path.Combine(current, parts[i]);
            FileSystemInfo info = Directory.Exists(next) ? new DirectoryInfo(next) : new FileInfo(next);
            if (info.Exists && info.LinkTarget is not null)
            {
                FileSystemInfo? target = info.ResolveLinkTarget(returnFinalTarget: true);
                next = target is null ? next : RealPath(Path.GetFullPath(target.FullName));
            }
            current = next;
        }
        return current;
    }

    private static string Token(string s)
    {
        var chars = s.Trim().Select(c => char.IsAsciiLetterOrDigit(c) || c == '-' ? c : '-').ToArray();
        string t = new(chars);
        return t.Length == 0 ? "X" : t;
    }
}
