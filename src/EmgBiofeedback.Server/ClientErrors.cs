using System.Text.RegularExpressions;

namespace EmgBiofeedback.Server;

/// <summary>
/// Messages for gRPC clients never reveal where the server keeps its files: paths inside the recordings
/// folder become relative to it, the folder itself is named by its setting, any other absolute path is
/// withheld. The operator's log keeps the full paths.
/// </summary>
internal static partial class ClientErrors
{
    public static string WithoutServerPaths(string message, string recordingsRoot)
    {
        string root = recordingsRoot.TrimEnd(Path.DirectorySeparatorChar);
        string relative = message
            .Replace(root + Path.DirectorySeparatorChar, "", StringComparison.Ordinal)
            .Replace(root, "the recordings folder (Recording:Folder)", StringComparison.Ordinal);
        return AbsolutePath().Replace(relative, "[a path outside the recordings folder]");
    }

    // An absolute path: a '/' at the start of the message or after a space, quote or bracket.
    [GeneratedRegex(@"(?<=^|[\s'""(\[])/[^\s'""()\[\]]*")]
    private static partial Regex AbsolutePath();
}
