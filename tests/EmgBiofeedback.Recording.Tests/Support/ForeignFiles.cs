using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace EmgBiofeedback.Recording.Tests.Support;

/// <summary>One ordinary signal as tests/reference/edflib/make_files.c set it up and the digital samples it wrote.</summary>
internal sealed record IntendedSignal(
    string Label, string Unit, double PhysicalMinimum, double PhysicalMaximum, int DigitalMinimum, int DigitalMaximum,
    int SamplesPerRecord, double SampleRate, int[] Digital)
{
    /// <summary>Physical units per digital step.</summary>
    public double Step => (PhysicalMaximum - PhysicalMinimum) / ((double)DigitalMaximum - DigitalMinimum);

    /// <summary>The EDF formula, written here independently of the reader: (d - dmin) x step + pmin.</summary>
    public double ToPhysical(int digital) => (digital - (double)DigitalMinimum) * Step + PhysicalMinimum;
}

/// <summary>An annotation as written: onset and duration in seconds, duration null when the TAL has none.</summary>
internal sealed record IntendedAnnotation(double Onset, double? Duration, string Text);

/// <summary>A fixture and its sidecar (NAME.json, NAME.s&lt;k&gt;.i32) from make_files.c.</summary>
internal sealed record ForeignFile(
    string Name, string Path, string FileType, string WrittenBy, bool Discontinuous, double RecordDuration, int Records,
    double[] RecordOnsets, int AnnotationSignalIndex, IReadOnlyList<IntendedSignal> Signals,
    IReadOnlyList<IntendedAnnotation> Annotations);

internal sealed record MneSignal(string Name, string Unit, double SampleRate, int SamplesPerRecord, double[] Values);

internal sealed record MneAnnotation(double Onset, double Duration, string Text);

/// <summary>What MNE-Python read (tests/reference/mne_dump.py): values in the file's unit, each signal at its own rate.</summary>
internal sealed record MneFile(
    double CommonRate, bool MixedRates, double RecordDuration, int Records, IReadOnlyList<MneSignal> Signals,
    IReadOnlyList<MneAnnotation> Annotations, IReadOnlyList<string> Warnings);

internal sealed record EdflibSignal(
    string Label, string Unit, double PhysicalMinimum, double PhysicalMaximum, int DigitalMinimum, int DigitalMaximum,
    int SamplesPerRecord, int[] Digital);

/// <summary>What EDFlib's strict reader (tests/reference/edflib/check_file.c) read.</summary>
internal sealed record EdflibFile(
    string FileType, int SignalCount, long Records, double RecordDuration, IReadOnlyList<EdflibSignal> Signals,
    IReadOnlyList<IntendedAnnotation> Annotations);

/// <summary>SciPy's reference chain on one signal (mne_dump.py envelope): input in µV, outputs as emg_reference.py writes them.</summary>
internal sealed record ScipyEnvelope(double SampleRate, double[] Microvolts, double[] Filtered, double[] Rms);

/// <summary>
/// Fixtures nobody here wrote: tests/reference/edflib/make_files.c, compiled with gcc against Debian's libedf-dev
/// once per source version (cached in the temp folder under a hash of the C sources), writes them with EDFlib;
/// MNE (Debian's /usr/bin/python3) and EDFlib's reader read them back. Every failure throws with the tool's stderr.
/// </summary>
internal static class ForeignFiles
{
    public const string Python = "/usr/bin/python3";

    /// <summary>Every fixture make_files.c writes, in its order (a-j of the brief; see the comments in make_files.c).</summary>
    public static readonly IReadOnlyList<string> Names =
    [
        "a_signed_edfplus.edf",
        "b_24_signals_bdfplus.bdf",
        "c_mixed_rates_edfplus.edf",
        "d_half_second_records_edfplus.edf",
        "d_ten_second_records_bdfplus.bdf",
        "e_semg_millivolts_edfplus.edf",
        "e_semg_volts_bdfplus.bdf",
        "f_zero_between_counts_edfplus.edf",
        "g_discontinuous_edfplusd.edf",
        "h_utf8_annotations_edfplus.edf",
        "i_annotations_not_last_edfplus.edf",
        "j_plain_bdf.bdf",
        "j_plain_edf.edf",
    ];

    /// <summary>xUnit MemberData: one row per fixture name.</summary>
    public static TheoryData<string> All
    {
        get
        {
            var data = new TheoryData<string>();
            foreach (string name in Names)
            {
                data.Add(name);
            }
            return data;
        }
    }

    private static readonly Lazy<(string Folder, string CheckFile)> Built = new(Build);

    private static string SourceFolder => System.IO.Path.Combine(RepositoryPaths.Root, "tests", "reference", "edflib");

    public static string MneDumpScript => System.IO.Path.Combine(RepositoryPaths.Root, "tests", "reference", "mne_dump.py");

    /// <summary>The folder holding the fixtures and their sidecars.</summary>
    public static string Folder => Built.Value.Folder;

    public static string PathOf(string name) => System.IO.Path.Combine(Folder, name);

    public static ForeignFile Get(string name)
    {
        string stem = System.IO.Path.GetFileNameWithoutExtension(name);
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(System.IO.Path.Combine(Folder, stem + ".json")));
        JsonElement r = doc.RootElement;
        var signals = r.GetProperty("signals").EnumerateArray().Select(s => new IntendedSignal(
            s.GetProperty("label").GetString()!, s.GetProperty("unit").GetString()!,
            s.GetProperty("physical_min").GetDouble(), s.GetProperty("physical_max").GetDouble(),
            s.GetProperty("digital_min").GetInt32(), s.GetProperty("digital_max").GetInt32(),
            s.GetProperty("samples_per_record").GetInt32(), s.GetProperty("sample_rate").GetDouble(),
            ReadInt32s(System.IO.Path.Combine(Folder, s.GetProperty("digital").GetString()!)))).ToList();
        return new ForeignFile(
            name, PathOf(name), r.GetProperty("filetype").GetString()!, r.GetProperty("written_by").GetString()!,
            r.GetProperty("discontinuous").GetBoolean(), r.GetProperty("record_duration").GetDouble(),
            r.GetProperty("records").GetInt32(),
            r.GetProperty("record_onsets").EnumerateArray().Select(e => e.GetDouble()).ToArray(),
            r.GetProperty("annotation_signal_index").GetInt32(), signals, Annotations(r.GetProperty("annotations")));
    }

    /// <summary>mne_dump.py dump: MNE's reading of every signal, at its own rate, in the file's unit.</summary>
    public static MneFile Mne(string path)
    {
        string dir = Directory.CreateTempSubdirectory("emg-foreign-mne-").FullName;
        try
        {
            string output = Run(Python, [MneDumpScript, "dump", path, dir]);
            using JsonDocument doc = Parse(output, "mne_dump.py dump " + path);
            JsonElement r = doc.RootElement;
            var signals = r.GetProperty("channels").EnumerateArray().Select(c => new MneSignal(
                c.GetProperty("name").GetString()!, c.GetProperty("unit").GetString()!,
                c.GetProperty("sample_rate").GetDouble(), c.GetProperty("samples_per_record").GetInt32(),
                ReadDoubles(c.GetProperty("values_file").GetString()!))).ToList();
            var annotations = r.GetProperty("annotations").EnumerateArray().Select(a => new MneAnnotation(
                a.GetProperty("onset").GetDouble(), a.GetProperty("duration").GetDouble(),
                a.GetProperty("text").GetString()!)).ToList();
            return new MneFile(
                r.GetProperty("sfreq").GetDouble(), r.GetProperty("mixed_rates").GetBoolean(),
                r.GetProperty("record_duration").GetDouble(), r.GetProperty("records").GetInt32(), signals, annotations,
                r.GetProperty("warnings").EnumerateArray().Select(w => w.GetString()!).ToList());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>mne_dump.py envelope: SciPy's reference chain (docs/signal-chain.md defaults) on MNE's values of one signal.</summary>
    public static ScipyEnvelope Envelope(string path, string signalName)
    {
        string dir = Directory.CreateTempSubdirectory("emg-foreign-env-").FullName;
        try
        {
            string output = Run(Python, [MneDumpScript, "envelope", path, signalName, dir]);
            using JsonDocument doc = Parse(output, "mne_dump.py envelope " + path);
            return new ScipyEnvelope(
                doc.RootElement.GetProperty("sample_rate").GetDouble(),
                ReadDoubles(System.IO.Path.Combine(dir, "microvolts.f64")),
                ReadDoubles(System.IO.Path.Combine(dir, "filtered.f64")),
                ReadDoubles(System.IO.Path.Combine(dir, "rms.f64")));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>check_file.c: EDFlib's strict reader. Throws (with EDFlib's error) if it refuses the file.</summary>
    public static EdflibFile Edflib(string path)
    {
        (int code, string stdout, string stderr) = TryEdflib(path, out EdflibFile? file);
        return file ?? throw new InvalidOperationException($"EDFlib's reader refused {path} (exit {code}): {stderr}{stdout}");
    }

    /// <summary>check_file.c without throwing on a refusal: the exit code, its output, and the file when accepted.</summary>
    public static (int Code, string Stdout, string Stderr) TryEdflib(string path, out EdflibFile? file)
    {
        file = null;
        string dir = Directory.CreateTempSubdirectory("emg-foreign-edflib-").FullName;
        try
        {
            (int code, string stdout, string stderr) = RunRaw(Built.Value.CheckFile, [path, dir]);
            if (code != 0)
            {
                return (code, stdout, stderr);
            }
            using JsonDocument doc = Parse(stdout, "check_file " + path);
            JsonElement r = doc.RootElement;
            int k = 0;
            var signals = r.GetProperty("signal").EnumerateArray().Select(s => new EdflibSignal(
                s.GetProperty("label").GetString()!, s.GetProperty("unit").GetString()!,
                s.GetProperty("physical_min").GetDouble(), s.GetProperty("physical_max").GetDouble(),
                s.GetProperty("digital_min").GetInt32(), s.GetProperty("digital_max").GetInt32(),
                s.GetProperty("samples_per_record").GetInt32(),
                ReadInt32s(System.IO.Path.Combine(dir, $"{k++}.i32")))).ToList();
            file = new EdflibFile(
                r.GetProperty("filetype").GetString()!, r.GetProperty("signals").GetInt32(),
                r.GetProperty("records").GetInt64(), r.GetProperty("record_duration").GetDouble(), signals,
                Annotations(r.GetProperty("annotations")));
            return (code, stdout, stderr);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static List<IntendedAnnotation> Annotations(JsonElement array) =>
        array.EnumerateArray().Select(a => new IntendedAnnotation(
            a.GetProperty("onset").GetDouble(),
            a.GetProperty("duration").ValueKind == JsonValueKind.Null ? null : a.GetProperty("duration").GetDouble(),
            a.GetProperty("text").GetString()!)).ToList();

    private static (string Folder, string CheckFile) Build()
    {
        string makeSource = System.IO.Path.Combine(SourceFolder, "make_files.c");
        string checkSource = System.IO.Path.Combine(SourceFolder, "check_file.c");
        string hash = Convert.ToHexString(SHA256.HashData(
            [.. File.ReadAllBytes(makeSource), 0, .. File.ReadAllBytes(checkSource)]))[..16].ToLowerInvariant();
        string final = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"emg-foreign-edf-{hash}");
        string done = System.IO.Path.Combine(final, "complete");
        if (!File.Exists(done))
        {
            // Built aside and moved into place, so concurrent test runs never see a half-written folder.
            string work = final + $".{Environment.ProcessId}.{Guid.NewGuid():N}";
            Directory.CreateDirectory(System.IO.Path.Combine(work, "files"));
            Run("gcc", ["-O1", "-std=c11", "-Wall", "-o", System.IO.Path.Combine(work, "make_files"), makeSource, "-ledf", "-lm"]);
            Run("gcc", ["-O1", "-std=c11", "-Wall", "-o", System.IO.Path.Combine(work, "check_file"), checkSource, "-ledf"]);
            string written = Run(System.IO.Path.Combine(work, "make_files"), [System.IO.Path.Combine(work, "files")]);
            string[] listed = written.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            if (!listed.SequenceEqual(Names))
            {
                throw new InvalidOperationException(
                    $"make_files.c wrote [{string.Join(", ", listed)}], ForeignFiles.Names lists [{string.Join(", ", Names)}]");
            }
            File.WriteAllText(System.IO.Path.Combine(work, "complete"), written);
            try
            {
                Directory.Move(work, final);
            }
            catch (IOException) when (File.Exists(done))
            {
                Directory.Delete(work, recursive: true); // another run got there first: same sources, same files
            }
        }
        return (System.IO.Path.Combine(final, "files"), System.IO.Path.Combine(final, "check_file"));
    }

    private static JsonDocument Parse(string json, string what)
    {
        try
        {
            return JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new InvalidOperationException($"{what} printed what is not JSON ({e.Message}): {json}", e);
        }
    }

    public static int[] ReadInt32s(string path) => MemoryMarshal.Cast<byte, int>(File.ReadAllBytes(path)).ToArray();

    public static double[] ReadDoubles(string path) => MemoryMarshal.Cast<byte, double>(File.ReadAllBytes(path)).ToArray();

    /// <summary>Runs a program; throws with its exit code, stderr and stdout unless it exits 0.</summary>
    public static string Run(string program, IReadOnlyList<string> args)
    {
        (int code, string stdout, string stderr) = RunRaw(program, args);
        if (code != 0)
        {
            throw new InvalidOperationException(
                $"{program} {string.Join(' ', args)} exited with {code}.\nstderr:\n{stderr}\nstdout:\n{stdout}");
        }
        return stdout;
    }

    private static (int Code, string Stdout, string Stderr) RunRaw(string program, IReadOnlyList<string> args)
    {
        var psi = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["PYTHONIOENCODING"] = "utf-8";
        using Process p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {program}");
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', args)} ran over 3 minutes and was stopped");
        }
        p.WaitForExit();
        return (p.ExitCode, stdout.Result, stderr.Result);
    }
}
