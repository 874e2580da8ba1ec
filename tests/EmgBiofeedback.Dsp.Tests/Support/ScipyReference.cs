using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Text.Json;
using Xunit.Sdk;

namespace EmgBiofeedback.Dsp.Tests.Support;

/// <summary>What SciPy computed for a chain run: arrays are sample-instant-major like the C# outputs.</summary>
internal sealed record ScipyChainResult(double[] Filtered, double[] Rms, double[] Linear, double[] Mains);

/// <summary>
/// Runs tests/reference/emg_reference.py with Debian's /usr/bin/python3 (python3-scipy). Data go through temp files
/// of little-endian float64. A missing interpreter or SciPy fails the test with the reason; it never skips.
/// </summary>
internal sealed class ScipyReference : IDisposable
{
    public const string Python = "/usr/bin/python3";

    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("emg-dsp-scipy-");

    public static Dictionary<string, object?> ChainParameters(SignalChainOptions o, double sampleRateHz, int channels, int adcBits, double referenceMillivolts)
    {
        var gains = new double[channels];
        var offsets = new double[channels];
        for (int ch = 0; ch < channels; ch++)
        {
            ChannelOptions? over = ch < o.Channels.Count ? o.Channels[ch] : null;
            gains[ch] = over?.SensorGain ?? o.SensorGain;
            offsets[ch] = over?.AdcOffsetCounts ?? o.AdcOffsetCounts ?? (1 << (adcBits - 1));
        }
        return new Dictionary<string, object?>
        {
            ["sample_rate_hz"] = sampleRateHz,
            ["channels"] = channels,
            ["adc_bits"] = adcBits,
            ["reference_mv"] = referenceMillivolts,
            ["gains"] = gains,
            ["offsets"] = offsets,
            ["band_pass_low_hz"] = o.BandPass.LowHz,
            ["band_pass_high_hz"] = o.BandPass.HighHz,
            ["band_pass_order"] = o.BandPass.Order,
            ["mains_hz"] = o.MainsNotch.FrequencyHz,
            ["notch_q"] = o.MainsNotch.QualityFactor,
            ["harmonics"] = o.MainsNotch.Harmonics,
            ["notch_design"] = o.MainsNotch.Design == MainsNotchDesign.Comb ? "comb" : "per_harmonic",
            ["notch_enabled"] = o.MainsNotch.Enabled,
            ["rms_window_ms"] = o.RmsEnvelope.WindowMs,
            ["output_rate_hz"] = o.OutputRateHz,
            ["linear_enabled"] = o.LinearEnvelope.Enabled,
            ["linear_cutoff_hz"] = o.LinearEnvelope.CutoffHz,
            ["linear_order"] = o.LinearEnvelope.Order,
        };
    }

    public ScipyChainResult Chain(Dictionary<string, object?> parameters, ReadOnlySpan<ushort> interleavedCounts)
    {
        string paramsPath = WriteJson("chain", parameters);
        var counts = new double[interleavedCounts.Length];
        for (int i = 0; i < counts.Length; i++)
        {
            counts[i] = interleavedCounts[i];
        }
        string countsPath = WriteDoubles("counts", counts);
        string outDir = Directory.CreateDirectory(Path.Combine(_dir.FullName, "out-" + Guid.NewGuid().ToString("N"))).FullName;
        Run("chain", paramsPath, countsPath, outDir);
        return new ScipyChainResult(
            ReadDoubles(Path.Combine(outDir, "filtered.f64")),
            ReadDoubles(Path.Combine(outDir, "rms.f64")),
            ReadDoubles(Path.Combine(outDir, "linear.f64")),
            ReadDoubles(Path.Combine(outDir, "mains.f64")));
    }

    /// <summary>SciPy's sosfreqz of its own design of <c>kind</c> (band_pass, notch, linear_envelope) at the given frequencies.</summary>
    public Complex[] Response(Dictionary<string, object?> parameters, double[] frequenciesHz)
    {
        string paramsPath = WriteJson("response", parameters);
        string freqPath = WriteDoubles("freqs", frequenciesHz);
        string outPath = Path.Combine(_dir.FullName, "response-" + Guid.NewGuid().ToString("N") + ".f64");
        Run("response", paramsPath, freqPath, outPath);
        double[] pairs = ReadDoubles(outPath);
        var h = new Complex[pairs.Length / 2];
        for (int i = 0; i < h.Length; i++)
        {
            h[i] = new Complex(pairs[2 * i], pairs[(2 * i) + 1]);
        }
        return h;
    }

    public void Dispose()
    {
        try
        {
            _dir.Delete(recursive: true);
        }
        catch (IOException)
        {
            // A temp directory left behind is not a test failure.
        }
    }

    private static void Run(params string[] args)
    {
        if (!File.Exists(Python))
        {
            throw new XunitException($"{Python} is missing: the SciPy reference needs Debian's python3 with python3-scipy (apt-get install python3-scipy).");
        }
        var start = new ProcessStartInfo(Python)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(RepositoryPaths.Root, "tests", "reference", "emg_reference.py"));
        foreach (string a in args)
        {
            start.ArgumentList.Add(a);
        }
        using Process process = Process.Start(start) ?? throw new XunitException($"Could not start {Python}.");
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            throw new XunitException($"The SciPy reference ({string.Join(' ', args)}) did not finish within 3 minutes.");
        }
        if (process.ExitCode != 0)
        {
            throw new XunitException(
                $"The SciPy reference failed (exit {process.ExitCode.ToString(CultureInfo.InvariantCulture)}): {stderr.Result.Trim()} {stdout.Result.Trim()}");
        }
    }

    private string WriteJson(string name, Dictionary<string, object?> value)
    {
        string path = Path.Combine(_dir.FullName, name + "-" + Guid.NewGuid().ToString("N") + ".json");
        File.WriteAllText(path, JsonSerializer.Serialize(value));
        return path;
    }

    private string WriteDoubles(string name, double[] values)
    {
        string path = Path.Combine(_dir.FullName, name + "-" + Guid.NewGuid().ToString("N") + ".f64");
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("The reference files are little-endian float64.");
        }
        File.WriteAllBytes(path, MemoryMarshal.AsBytes(values.AsSpan()).ToArray());
        return path;
    }

    private static double[] ReadDoubles(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        return MemoryMarshal.Cast<byte, double>(bytes).ToArray();
    }
}
