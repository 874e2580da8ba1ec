using System.Diagnostics;
using System.Globalization;
using System.Text;
using EmgBiofeedback.Dsp;
using EmgBiofeedback.Recording.Tests.Support;
using Xunit.Abstractions;

namespace EmgBiofeedback.Recording.Tests;

/// <summary>
/// Crafted recordings: a seeded mutation test of the reader. Mutants of real files (this project's recorder's, and
/// files EDFlib wrote) - truncations, bit flips in the header, the data and the annotations, absurd header fields -
/// are opened, read whole (every record, the annotations, the records' onsets) and, for those that open as a
/// recording, run through the signal chain. The rules: no exception but a clear <see cref="InvalidDataException"/>
/// (or the chain's <see cref="ArgumentException"/> naming a setting), no hang, memory bounded by the file's real
/// size, and a success only with digital values equal to the original's wherever the mutation did not touch them
/// (or with a warning that says what was resolved).
/// </summary>
public sealed class MutationTests(ITestOutputHelper output)
{
    private const int MutantsPerFile = 400;
    private static readonly TimeSpan PerMutant = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Two_thousand_mutants_of_real_recordings_never_crash_hang_or_read_wrong_values()
    {
        string folder = Directory.CreateTempSubdirectory("emg-mutants-").FullName;
        var bases = new List<(string Name, byte[] Bytes)>
        {
            ("own-recording.bdf", File.ReadAllBytes(SimulatedRecording.Make(folder, 3.5, gapAt: 1200, gapLength: 37,
                atInstant: (r, i) => { if (i % 700 == 0) { r.Mark("Marker ✓ " + i.ToString(CultureInfo.InvariantCulture)); } }).Path)),
        };
        foreach (string name in (string[])["c_mixed_rates_edfplus.edf", "g_discontinuous_edfplusd.edf", "h_utf8_annotations_edfplus.edf", "i_annotations_not_last_edfplus.edf", "j_plain_bdf.bdf"])
        {
            bases.Add((name, File.ReadAllBytes(ForeignFiles.PathOf(name))));
        }

        var random = new Random(20261202);
        int mutants = 0, opened = 0, refused = 0, processed = 0, warned = 0;
        long peakAllocated = 0;
        double peakRatio = 0;
        var failures = new List<string>();
        string scratch = Path.Combine(folder, "mutant.bin");
        foreach ((string name, byte[] original) in bases)
        {
            Snapshot reference = Snapshot.Of(new MemoryStream(original, writable: false), name)
                ?? throw new InvalidOperationException($"{name} itself does not read.");
            for (int m = 0; m < MutantsPerFile; m++)
            {
                (byte[] bytes, string what, int from, int to, bool layoutKept) = Mutate(original, reference, random);
                mutants++;
                Outcome result;
                var run = Task.Run(() => Outcome.Of(bytes, name, scratch));
                if (await Task.WhenAny(run, Task.Delay(PerMutant)) != run)
                {
                    failures.Add($"{name} {what}: no answer within {PerMutant.TotalSeconds} s (a hang)");
                    break;
                }
                result = await run;
                peakAllocated = Math.Max(peakAllocated, result.Allocated);
                peakRatio = Math.Max(peakRatio, result.Allocated / (double)Math.Max(bytes.Length, 1));
                if (result.Crash is { } crash)
                {
                    failures.Add($"{name} {what}: {crash}");
                    continue;
                }
                if (result.Allocated > (8L * bytes.Length) + (16 << 20))
                {
                    failures.Add($"{name} {what}: {result.Allocated} bytes allocated for a {bytes.Length}-byte file");
                }
                if (result.Snapshot is not { } got)
                {
                    refused++;
                    continue;
                }
                opened++;
                processed += result.Processed ? 1 : 0;
                warned += got.Warnings > 0 ? 1 : 0;
                if (Compare(reference, got, from, to, layoutKept) is { } wrong && got.Warnings == 0)
                {
                    failures.Add($"{name} {what}: read without a warning but {wrong}");
                }
            }
        }

        long peakWorkingSet = Process.GetCurrentProcess().PeakWorkingSet64;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{mutants} mutants of {bases.Count} files: {opened} opened ({warned} with warnings, {processed} through the chain), {refused} refused with a clear error, {failures.Count} failures; peak allocation per mutant {peakAllocated / 1024.0:F0} KiB ({peakRatio:F1}x its file), test process peak working set {peakWorkingSet / 1048576.0:F0} MiB"));
        foreach (string f in failures.Take(40))
        {
            output.WriteLine(f);
        }
        Directory.Delete(folder, recursive: true);
        Assert.True(mutants >= 2000, $"only {mutants} mutants");
        Assert.Empty(failures);
    }

    /// <summary>One mutation of <paramref name="original"/>: the bytes, what was done, the byte range touched, and
    /// whether the header's layout fields (signal count, samples per record, sizes) were left alone.</summary>
    private static (byte[] Bytes, string What, int From, int To, bool LayoutKept) Mutate(byte[] original, Snapshot reference, Random random)
    {
        byte[] b = original.ToArray();
        int header = reference.HeaderBytes;
        int ns = (header / 256) - 1;
        int kind = random.Next(9);
        switch (kind)
        {
            case 0:
            {
                int length = random.Next(0, original.Length);
                return (b[..length], $"truncated to {length} bytes", length, original.Length, true);
            }
            case 1:
            {
                int at = random.Next(0, header);
                b[at] ^= (byte)(1 << random.Next(8));
                return (b, $"bit flip in the header at {at}", at, at + 1, !LayoutField(at, ns));
            }
            case 2:
            case 3:
            {
                if (original.Length <= header)
                {
                    goto case 1;
                }
                int at = random.Next(header, original.Length);
                b[at] ^= (byte)(1 << random.Next(8));
                return (b, $"bit flip in the data at {at}", at, at + 1, true);
            }
            case 4:
            {
                // A byte of an annotations signal (where the file has one), set to a TAL separator or garbage.
                if (reference.AnnotationBytes.Count == 0)
                {
                    goto case 2;
                }
                int at = reference.AnnotationBytes[random.Next(reference.AnnotationBytes.Count)];
                byte[] choices = [0x00, 0x14, 0x15, (byte)'+', (byte)'-', (byte)'.', 0xFF, 0xC3, (byte)'x'];
                b[at] = choices[random.Next(choices.Length)];
                return (b, $"annotation byte at {at} set to 0x{b[at]:X2}", at, at + 1, true);
            }
            case 5:
            {
                // An absurd value in a fixed-header field.
                (int at, int width, string[] values)[] fields =
                [
                    (184, 8, ["0", "-256", "99999999", "abc", "256"]),
                    (236, 8, ["0", "-1", "-5", "99999999", "1e9", " ", "nan"]),
                    (244, 8, ["0", "-1", "1e308", "nan", "0.000001", "99999999", "inf"]),
                    (252, 4, ["0", "9999", "-1", "x", (ns + 1).ToString(CultureInfo.InvariantCulture)]),
                    (168, 8, ["99.99.99", "xx.yy.zz", ""]),
                ];
                var f = fields[random.Next(fields.Length)];
                string v = f.values[random.Next(f.values.Length)];
                Put(b, f.at, f.width, v);
                bool layout = f.at is 184 or 252;
                return (b, $"fixed field at {f.at} set to \"{v}\"", f.at, f.at + f.width, !layout && f.at != 244);
            }
            case 6:
            {
                // An absurd value in a signal's field.
                int signal = random.Next(ns);
                (int column, int width, string[] values)[] fields =
                [
                    (256 + (ns * 104), 8, ["0", "-0", "1e308", "-1e308", "nan", "x"]),        // physical minimum
                    (256 + (ns * 112), 8, ["0", "1e308", "nan", "-99999999"]),                 // physical maximum
                    (256 + (ns * 120), 8, ["99999999", "-99999999", "2147483647", "x", "0"]),  // digital minimum
                    (256 + (ns * 128), 8, ["-99999999", "0", "-8388608", "x"]),                // digital maximum
                    (256 + (ns * 216), 8, ["0", "-1", "99999999", "2147483647", "x", "1"]),    // samples per record
                    (256 + (ns * 96), 8, ["mV", "V", "kV", "", "\u0007\u001b[2J"]),             // physical dimension
                    (256, 16, ["EDF Annotations", "BDF Annotations", "\u001b]0;pwned\u0007"]), // label
                ];
                var f = fields[random.Next(fields.Length)];
                string v = f.values[random.Next(f.values.Length)];
                int at = f.column + (signal * f.width);
                Put(b, at, f.width, v);
                bool layout = f.column == 256 + (ns * 216) || f.column == 256;
                return (b, $"signal {signal + 1}'s field at {at} set to \"{v}\"", at, at + f.width, !layout);
            }
            case 7:
            {
                // Extra bytes after the last record (a record written but not counted, or garbage).
                int extra = random.Next(1, 5000);
                var longer = new byte[original.Length + extra];
                original.CopyTo(longer, 0);
                random.NextBytes(longer.AsSpan(original.Length));
                return (longer, $"{extra} bytes appended", original.Length, longer.Length, true);
            }
            default:
            {
                // A run of random bytes anywhere.
                int at = random.Next(0, original.Length);
                int length = Math.Min(random.Next(1, 64), original.Length - at);
                random.NextBytes(b.AsSpan(at, length));
                return (b, $"{length} random bytes at {at}", at, at + length, at >= header || !OverlapsLayout(at, length, ns));
            }
        }
    }

    private static bool LayoutField(int at, int ns) =>
        at is >= 184 and < 192 or >= 236 and < 256 // header bytes, record count, duration, signal count
        || (at >= 256 && at < 256 + (ns * 16))                                   // labels: which signal is annotations
        || (at >= 256 + (ns * 216) && at < 256 + (ns * 224))                     // samples per record
        || (at >= 256 + (ns * 120) && at < 256 + (ns * 136));                    // digital range

    private static bool OverlapsLayout(int at, int length, int ns)
    {
        for (int i = at; i < at + length; i++)
        {
            if (LayoutField(i, ns))
            {
                return true;
            }
        }
        return false;
    }

    private static void Put(byte[] b, int at, int width, string value)
    {
        byte[] text = Encoding.Latin1.GetBytes(value.PadRight(width)[..width]);
        text.CopyTo(b, at);
    }

    /// <summary>Where the mutant's values differ from the original's outside the touched bytes, or null.</summary>
    private static string? Compare(Snapshot reference, Snapshot got, int from, int to, bool layoutKept)
    {
        if (!layoutKept)
        {
            return null; // a different layout reads different values; the reader must have said so (checked by the caller only if layout kept)
        }
        if (got.Signals != reference.Signals || got.RecordBytes != reference.RecordBytes)
        {
            return $"its layout changed ({got.Signals} signals, {got.RecordBytes}-byte records)";
        }
        if (got.Records > reference.Records && from >= reference.HeaderBytes + (reference.Records * (long)reference.RecordBytes))
        {
            return $"it read {got.Records} records where the original has {reference.Records}";
        }
        long records = Math.Min(got.Records, reference.Records);
        if (got.Records < reference.Records && to < reference.HeaderBytes)
        {
            return $"it read {got.Records} of {reference.Records} records";
        }
        for (long r = 0; r < records; r++)
        {
            long start = reference.HeaderBytes + (r * reference.RecordBytes);
            for (int s = 0; s < reference.Digital[r].Length; s++)
            {
                long at = start + reference.SampleOffset[s];
                bool touched = at + reference.BytesPerSample > from && at < to;
                if (!touched && got.Digital[r][s] != reference.Digital[r][s])
                {
                    return $"record {r + 1} value {s} is {got.Digital[r][s]}, was {reference.Digital[r][s]}";
                }
            }
        }
        return null;
    }

    private sealed class Outcome
    {
        public Snapshot? Snapshot { get; private init; }
        public string? Crash { get; private init; }
        public bool Processed { get; private init; }
        public long Allocated { get; private init; }

        public static Outcome Of(byte[] bytes, string name, string scratch)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                Snapshot? snapshot = Snapshot.Of(new MemoryStream(bytes, writable: false), name);
                bool processed = false;
                if (snapshot is not null)
                {
                    File.WriteAllBytes(scratch, bytes);
                    try
                    {
                        using var file = new RecordingFile(scratch);
                        RecordingProcessor.Run(file, new SignalChainOptions());
                        processed = true;
                    }
                    catch (InvalidDataException)
                    {
                        // Refused as a recording (no voltage signal, ...): a clear error.
                    }
                    catch (ArgumentException e) when (e.Message.StartsWith("Invalid signal chain settings", StringComparison.Ordinal))
                    {
                        // A rate or scale the chain cannot take, named.
                    }
                }
                return new Outcome { Snapshot = snapshot, Processed = processed, Allocated = GC.GetAllocatedBytesForCurrentThread() - before };
            }
            catch (Exception e)
            {
                return new Outcome { Crash = $"{e.GetType().Name}: {e.Message}\n{e.StackTrace}", Allocated = GC.GetAllocatedBytesForCurrentThread() - before };
            }
        }
    }

    /// <summary>Everything the reader gives of a file, or null when it refuses it with an <see cref="InvalidDataException"/>.</summary>
    private sealed class Snapshot
    {
        public int HeaderBytes { get; private init; }
        public int RecordBytes { get; private init; }
        public int BytesPerSample { get; private init; }
        public int Signals { get; private init; }
        public long Records { get; private init; }
        public int Warnings { get; private init; }
        public required int[][] Digital { get; init; }
        public required int[] SampleOffset { get; init; }
        public required List<int> AnnotationBytes { get; init; }

        public static Snapshot? Of(Stream stream, string name)
        {
            BdfReader reader;
            try
            {
                reader = new BdfReader(stream, name);
            }
            catch (InvalidDataException)
            {
                return null;
            }
            using (reader)
            {
                try
                {
                    BdfHeader h = reader.Header;
                    var digital = new int[reader.RecordCount][];
                    var annotations = new List<BdfAnnotation>();
                    for (long r = 0; r < reader.RecordCount; r++)
                    {
                        digital[r] = new int[reader.SamplesPerRecord];
                        reader.ReadRecord(r, digital[r], annotations);
                        _ = reader.RecordOnsetSeconds(r);
                    }
                    _ = reader.ReadAnnotations();
                    // Byte offsets of each value within a record, and the annotation bytes of the first records.
                    int bps = h.BytesPerSample;
                    var offsets = new List<int>();
                    var annotationBytes = new List<int>();
                    int at = 0, ordinary = 0;
                    for (int i = 0; i < h.TotalSignalCount && reader.RecordCount > 0; i++)
                    {
                        bool isAnnotation = h.AnnotationSignalIndices.Contains(i);
                        int n = isAnnotation ? h.AnnotationSamplesPerRecord : h.Signals[ordinary].SamplesPerRecord;
                        for (int k = 0; k < n; k++)
                        {
                            if (isAnnotation)
                            {
                                for (long r = 0; r < Math.Min(reader.RecordCount, 3); r++)
                                {
                                    for (int j = 0; j < bps; j++)
                                    {
                                        annotationBytes.Add((int)(h.HeaderBytes + (r * h.RecordBytes) + at + (k * bps) + j));
                                    }
                                }
                            }
                            else
                            {
                                offsets.Add(at + (k * bps));
                            }
                        }
                        at += n * bps;
                        ordinary += isAnnotation ? 0 : 1;
                    }
                    return new Snapshot
                    {
                        HeaderBytes = h.HeaderBytes,
                        RecordBytes = h.RecordBytes,
                        BytesPerSample = bps,
                        Signals = h.TotalSignalCount,
                        Records = reader.RecordCount,
                        Warnings = reader.Warnings.Count,
                        Digital = digital,
                        SampleOffset = offsets.ToArray(),
                        AnnotationBytes = annotationBytes,
                    };
                }
                catch (InvalidDataException)
                {
                    return null;
                }
            }
        }
    }
}
