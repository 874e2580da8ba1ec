namespace EmgBiofeedback.Recording.Tests;

public sealed class RecordingsFolderTests : IDisposable
{
    private readonly string _base = Directory.CreateTempSubdirectory("emg-folder-").FullName;
    private readonly RecordingsFolder _folder;

    public RecordingsFolderTests()
    {
        _folder = new RecordingsFolder(Path.Combine(_base, "recordings"));
        File.WriteAllText(Path.Combine(_folder.Root, "a.bdf"), "");
        File.WriteAllText(Path.Combine(_base, "outside.bdf"), "");
    }

    public void Dispose() => Directory.Delete(_base, recursive: true);

    [Fact]
    public void A_name_inside_the_folder_resolves_to_its_full_path() =>
        Assert.Equal(Path.Combine(_folder.Root, "a.bdf"), _folder.Resolve("a.bdf"));

    [Fact]
    public void Dot_dot_that_climbs_out_is_refused()
    {
        var e = Assert.Throws<RecordingPathException>(() => _folder.Resolve("../outside.bdf"));
        Assert.Contains("outside the recordings folder", e.Message);
    }

    [Fact]
    public void An_absolute_path_is_refused_even_when_it_points_inside()
    {
        var e = Assert.Throws<RecordingPathException>(() => _folder.Resolve(Path.Combine(_folder.Root, "a.bdf")));
        Assert.Contains("absolute paths are not allowed", e.Message);
    }

    [Fact]
    public void A_symlinked_file_pointing_out_is_refused()
    {
        File.CreateSymbolicLink(Path.Combine(_folder.Root, "link.bdf"), Path.Combine(_base, "outside.bdf"));
        var e = Assert.Throws<RecordingPathException>(() => _folder.Resolve("link.bdf"));
        Assert.Contains("symbolic link", e.Message);
    }

    [Fact]
    public void A_symlinked_folder_pointing_out_is_refused()
    {
        Directory.CreateSymbolicLink(Path.Combine(_folder.Root, "elsewhere"), _base);
        Assert.Throws<RecordingPathException>(() => _folder.Resolve("elsewhere/outside.bdf"));
    }

    [Fact]
    public void A_symlink_that_stays_inside_is_allowed()
    {
        File.CreateSymbolicLink(Path.Combine(_folder.Root, "same.bdf"), Path.Combine(_folder.Root, "a.bdf"));
        Assert.Equal(Path.Combine(_folder.Root, "a.bdf"), _folder.Resolve("same.bdf"));
    }
}
