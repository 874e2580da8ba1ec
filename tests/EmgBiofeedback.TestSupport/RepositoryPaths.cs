namespace EmgBiofeedback.TestSupport;

/// <summary>Where the repository and the shared data (../shared beside it) are, from the test binaries.</summary>
public static class RepositoryPaths
{
    public static string Root { get; } = FindRoot();

    public static string SharedData(params string[] parts) =>
        Path.GetFullPath(Path.Combine([Root, "..", "shared", "data", .. parts]));

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "EmgBiofeedback.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException($"No EmgBiofeedback.sln above {AppContext.BaseDirectory}.");
    }
}
