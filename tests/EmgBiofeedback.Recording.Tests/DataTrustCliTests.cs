using System.Diagnostics;
using System.Globalization;
using System.Text;
using EmgBiofeedback.Recording.Tests.Support;

namespace EmgBiofeedback.Recording.Tests;

/// <summary>
/// The defects the data-trust issue listed for the command line, each as a user meets it: the shipped samples at
/// their own scale, files that hung or crashed the tool, headers that lied, text that could steer a terminal.
/// </summary>
public sealed class DataTrustCliTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("emg-trust-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Theory]
    [InlineData("biosppy-emg.bdf")]
    [InlineData("biosppy-emg_1.bdf")]
    public async Task The_shipped_samples_envelopes_are_at_the_files_own_scale_SciPy_on_MNE_s_values_within_1_percent(string name)
    {
        // Before: process used the station's sensor gain (200) instead of the file's (1009): envelopes 4.9x too large.
        string path = Path.Combine(RepositoryPaths.Root, "samples", name);
        ScipyEnvelope reference = ForeignFiles.Envelope(path, "EMG");
        string csv = Path.Combine(_folder, "p.csv");
        var process = await CliTests.Emg("process", path, "--out", csv);
        Assert.True(process.ExitCode == 0, process.Errors);
        int compared = 0;
        foreach (string row in File.ReadLines(csv).Skip(1))
        {
            string[] f = row.Split(',');
            if (f[4] != "1")
            {
                continue;
            }
            long index = long.Parse(f[0], CultureInfo.InvariantCulture);
            double rms = double.Parse(f[2], CultureInfo.InvariantCulture);
            double expected = reference.Rms[((index + 1) / 20) - 1];
            Assert.True(Math.Abs(rms - expected) <= 0.01 * expected, $"{name} at sample {index}: ours {rms} µV, SciPy on MNE's values {expected} µV");
            compared++;
        }
        Assert.True(compared > 1000, $"only {compared} valid envelope values");
    }

    [Fact]
    public async Task Replaying_a_file_the_chain_cannot_run_ends_at_once_with_a_clear_error()
    {
        // Before: `emg replay` on a 100 Hz file failed inside the acquisition worker and hung, ignoring Ctrl+C.
        string path = Path.Combine(_folder, "slow.edf");
        WriteOneSignalEdf(path, samplesPerRecord: 100, records: 5, unit: "uV");
        var replay = await CliTests.Emg("replay", path).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(2, replay.ExitCode);
        Assert.StartsWith("error: slow.edf cannot be replayed:", replay.Errors.Trim(), StringComparison.Ordinal);
        Assert.Contains("Nyquist", replay.Errors, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", replay.Errors, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_paced_replay_stops_on_Ctrl_C()
    {
        string path = Path.Combine(RepositoryPaths.Root, "samples", "biosppy-emg_1.bdf");
        // env --default-signal=INT: a test run started in the background inherits SIGINT ignored, and .NET keeps it so.
        var psi = new ProcessStartInfo("env") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in (string[])["--default-signal=INT", "dotnet", Path.Combine(AppContext.BaseDirectory, "emg.dll"), "replay", path, "--speed", "1"])
        {
            psi.ArgumentList.Add(a);
        }
        using Process emg = Process.Start(psi)!;
        Task<string?> output = emg.StandardOutput.ReadLineAsync();
        Assert.NotNull(await output.WaitAsync(TimeSpan.FromSeconds(60))); // it prints RMS lines while it plays (64 s)
        using (Process kill = Process.Start("kill", ["-INT", emg.Id.ToString(CultureInfo.InvariantCulture)])!)
        {
            await kill.WaitForExitAsync();
        }
        await emg.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
        Assert.True(emg.HasExited);
    }

    [Fact]
    public async Task A_millivolt_file_replays_at_its_own_scale()
    {
        // Before: a voltage in mV was read as µV (1000x off), and the replay of such a file stopped the service.
        string uv = Path.Combine(_folder, "uv.edf"), mv = Path.Combine(_folder, "mv.edf");
        WriteOneSignalEdf(uv, samplesPerRecord: 1000, records: 6, unit: "uV");
        WriteOneSignalEdf(mv, samplesPerRecord: 1000, records: 6, unit: "mV");
        var a = await CliTests.Emg("process", uv, "--out", Path.Combine(_folder, "uv.csv"));
        var b = await CliTests.Emg("process", mv, "--out", Path.Combine(_folder, "mv.csv"));
        var replay = await CliTests.Emg("replay", mv);
        Assert.True(a.ExitCode == 0 && b.ExitCode == 0 && replay.ExitCode == 0, a.Errors + b.Errors + replay.Errors);
        double[] inUv = LastValidRms(Path.Combine(_folder, "uv.csv")), inMv = LastValidRms(Path.Combine(_folder, "mv.csv"));
        Assert.Equal(inUv.Length, inMv.Length);
        for (int i = 0; i < inUv.Length; i++)
        {
            Assert.Equal(inUv[i] * 1000, inMv[i], 1e-9 * inMv[i]); // the same digits, a thousand times the volts
        }
    }

    [Fact]
    public async Task One_bad_annotation_byte_loses_that_records_annotations_with_a_warning_not_the_file()
    {
        SimulatedRecording rec = SimulatedRecording.Make(_folder, 3, atInstant: (r, i) => { if (i == 1500) { r.Mark("Marker in the second record"); } });
        byte[] bytes = File.ReadAllBytes(rec.Path);
        using (var reader = new BdfReader(rec.Path))
        {
            // The first byte of the second record's annotations: its time-keeping TAL's '+'.
            BdfHeader h = reader.Header;
            long at = h.HeaderBytes + h.RecordBytes + h.RecordBytes - h.AnnotationBytesPerRecord;
            bytes[at] = (byte)'x';
        }
        string damaged = Path.Combine(_folder, "damaged.bdf");
        File.WriteAllBytes(damaged, bytes);

        var info = await CliTests.Emg("info", damaged);
        string csv = Path.Combine(_folder, "d.csv");
        var export = await CliTests.Emg("export", damaged, "--csv", csv);

        Assert.True(info.ExitCode == 0, info.Errors);
        Assert.Contains("warning: Record 2: its annotations are skipped", info.Errors, StringComparison.Ordinal);
        Assert.Contains("Session start", info.Output, StringComparison.Ordinal); // record 1's notes are kept
        Assert.True(export.ExitCode == 0, export.Errors);
        Assert.Equal(1 + (3 * 1000), File.ReadLines(csv).Count()); // every sample, the damaged record's included
    }

    [Fact]
    public async Task A_record_count_of_zero_is_not_taken_at_its_word()
    {
        SimulatedRecording rec = SimulatedRecording.Make(_folder, 4);
        byte[] bytes = File.ReadAllBytes(rec.Path);
        Encoding.ASCII.GetBytes("0       ").CopyTo(bytes, 236);
        string lying = Path.Combine(_folder, "zero.bdf");
        File.WriteAllBytes(lying, bytes);

        var info = await CliTests.Emg("info", lying);

        Assert.True(info.ExitCode == 0, info.Errors);
        Assert.Contains("The header says 0 data records; the file holds 4 complete records, which are read.", info.Errors, StringComparison.Ordinal);
        Assert.Contains("(4 records of 1 s)", info.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Header_text_cannot_steer_the_terminal_and_absurd_transducer_numbers_do_not_crash()
    {
        // Before: "ADC 99999999999 bit" in the transducer text overflowed into a stack trace.
        SimulatedRecording rec = SimulatedRecording.Make(_folder, 2);
        byte[] bytes = File.ReadAllBytes(rec.Path);
        int ns = int.Parse(Encoding.ASCII.GetString(bytes, 252, 4).Trim(), CultureInfo.InvariantCulture);
        Encoding.Latin1.GetBytes("\u001b]0;owned\u0007L".PadRight(16)).CopyTo(bytes, 256);                        // signal 1's label
        Encoding.ASCII.GetBytes("sensor gain 1e999, ADC 99999999999 bit 99999999999 mV".PadRight(80)).CopyTo(bytes, 256 + (ns * 16)); // its transducer
        string crafted = Path.Combine(_folder, "crafted.bdf");
        File.WriteAllBytes(crafted, bytes);

        var info = await CliTests.Emg("info", crafted);
        var process = await CliTests.Emg("process", crafted, "--out", Path.Combine(_folder, "c.csv"));

        Assert.True(info.ExitCode == 0, info.Errors);
        Assert.DoesNotContain('\u001b', info.Output);
        Assert.DoesNotContain('\u0007', info.Output);
        Assert.True(process.ExitCode == 0, process.Errors);
        Assert.DoesNotContain("   at ", info.Errors + process.Errors, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Labels_with_commas_stay_one_CSV_column_and_an_ambiguous_label_is_refused()
    {
        string path = Path.Combine(_folder, "labels.edf");
        var random = new Random(3);
        WriteEdf(path, ["EMG A,B", "EMG1", "EMG1"], 1000, 3, "uV", (_, _) => random.Next(-2000, 2000));

        var process = await CliTests.Emg("process", path, "--out", Path.Combine(_folder, "p.csv"));
        var export = await CliTests.Emg("export", path, "--csv", Path.Combine(_folder, "e.csv"));
        var ambiguous = await CliTests.Emg("process", path, "--out", Path.Combine(_folder, "x.csv"), "--signals", "EMG1");

        Assert.True(process.ExitCode == 0 && export.ExitCode == 0, process.Errors + export.Errors);
        foreach (string csv in (string[])["p.csv", "e.csv"])
        {
            string[] lines = File.ReadAllLines(Path.Combine(_folder, csv));
            int columns = Fields(lines[0]).Count;
            Assert.All(lines.Skip(1).Take(50), l => Assert.Equal(columns, Fields(l).Count));
        }
        Assert.Contains("\"A,B rms_uV\"", File.ReadAllLines(Path.Combine(_folder, "p.csv"))[0], StringComparison.Ordinal);
        Assert.Contains("\"EMG A,B counts\"", File.ReadAllLines(Path.Combine(_folder, "e.csv"))[0], StringComparison.Ordinal);
        Assert.Equal(2, ambiguous.ExitCode);
        Assert.Contains("2 signals are labelled \"EMG1\"", ambiguous.Errors, StringComparison.Ordinal);
    }

    /// <summary>RFC 4180 fields of one line.</summary>
    private static List<string> Fields(string line)
    {
        var fields = new List<string>();
        var field = new StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (quoted && c == '"' && i + 1 < line.Length && line[i + 1] == '"')
            {
                field.Append('"');
                i++;
            }
            else if (c == '"')
            {
                quoted = !quoted;
            }
            else if (c == ',' && !quoted)
            {
                fields.Add(field.ToString());
                field.Clear();
            }
            else
            {
                field.Append(c);
            }
        }
        fields.Add(field.ToString());
        return fields;
    }

    private static double[] LastValidRms(string csv) =>
        File.ReadLines(csv).Skip(1).Select(l => l.Split(',')).Where(f => f[4] == "1").Select(f => double.Parse(f[2], CultureInfo.InvariantCulture)).ToArray();

    /// <summary>One EMG signal of noise bursts, EDF+, with this project's writer; the same digits whatever the unit.</summary>
    private static void WriteOneSignalEdf(string path, int samplesPerRecord, int records, string unit)
    {
        var random = new Random(7);
        WriteEdf(path, ["EMG test"], samplesPerRecord, records, unit,
            (r, _) => (int)Math.Clamp(((r % 2 == 1) ? 4000 : 300) * ((random.NextDouble() * 2) - 1), -32768, 32767));
    }

    /// <summary>An EDF+ file of the given signals (all of one rate and unit, 16-bit signed), values from <paramref name="value"/>(record, index).</summary>
    private static void WriteEdf(string path, string[] labels, int samplesPerRecord, int records, string unit, Func<int, int, int> value)
    {
        var header = new BdfHeader
        {
            Is24Bit = false,
            PatientId = "X X X X",
            RecordingId = "Startdate 02-DEC-2026 X X X",
            StartTime = new DateTime(2026, 12, 2, 10, 0, 0),
            Reserved = "EDF+C",
            Signals = labels.Select(l => new BdfSignal(l, "", unit, -3276.8, 3276.7, -32768, 32767, "", samplesPerRecord)).ToArray(),
            AnnotationSamplesPerRecord = 30,
        };
        using var stream = new FileStream(path, FileMode.CreateNew);
        using var writer = new BdfWriter(stream, header);
        var record = new int[samplesPerRecord * labels.Length];
        for (int r = 0; r < records; r++)
        {
            for (int i = 0; i < record.Length; i++)
            {
                record[i] = value(r, i);
            }
            writer.WriteRecord(record);
        }
    }
}
