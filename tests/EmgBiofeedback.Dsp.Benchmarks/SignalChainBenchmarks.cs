using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using EmgBiofeedback.Dsp.Kernels;

namespace EmgBiofeedback.Dsp.Benchmarks;

/// <summary>
/// 8 channels x 1000 Hz, 100 s of seeded noise as interleaved 10-bit counts, processed in 1 s blocks through the
/// whole chain: counts -> µV, band-pass, notches, rectification, RMS, decimation to 50 Hz (ours also computes the
/// quality sums). One operation = one channel-sample, so "ns/op" is nanoseconds per channel-sample and
/// 1000 / (ns/op) is millions of channel-samples per second.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class SignalChainBenchmarks
{
    private const int Channels = 8;
    private const double SampleRateHz = 1000;
    private const int Instants = 100_000;
    private const int BlockFrames = 1000;
    private const int Operations = Instants * Channels;
    private const string Defaults = "defaults: 4 band-pass sections + mains comb";
    private const string PerHarmonic = "per-harmonic: 4 band-pass + 9 notch sections";
    private const string FundamentalOnly = "notes' workload: 4 band-pass + 1 notch";

    private ushort[] _counts = [];
    private EnvelopeSample[] _outputs = [];
    private float[] _baselineOutputs = [];
    private SignalChain _vector = null!;
    private SignalChain _scalar = null!;
    private NWavesChain _nwaves = null!;
    private SignalChain _vectorOneNotch = null!;
    private SignalChain _scalarOneNotch = null!;
    private NWavesChain _nwavesOneNotch = null!;
    private SignalChain _vectorPerHarmonic = null!;
    private NWavesChain _nwavesPerHarmonic = null!;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(42);
        _counts = new ushort[Instants * Channels];
        for (int i = 0; i < _counts.Length; i++)
        {
            _counts[i] = (ushort)random.Next(0, 1024);
        }

        var defaults = new SignalChainDesign(new SignalChainOptions(), SampleRateHz, Channels, 10, 5000);
        var oneNotch = new SignalChainDesign(new SignalChainOptions { MainsNotch = { Harmonics = 1 } }, SampleRateHz, Channels, 10, 5000);
        _vector = new SignalChain(defaults, ChainKernelKind.Vector);
        _scalar = new SignalChain(defaults, ChainKernelKind.Scalar);
        _nwaves = new NWavesChain(defaults);
        _vectorOneNotch = new SignalChain(oneNotch, ChainKernelKind.Vector);
        _scalarOneNotch = new SignalChain(oneNotch, ChainKernelKind.Scalar);
        _nwavesOneNotch = new NWavesChain(oneNotch);
        var perHarmonic = new SignalChainDesign(new SignalChainOptions { MainsNotch = { Design = MainsNotchDesign.PerHarmonic } }, SampleRateHz, Channels, 10, 5000);
        _vectorPerHarmonic = new SignalChain(perHarmonic, ChainKernelKind.Vector);
        _nwavesPerHarmonic = new NWavesChain(perHarmonic);
        _outputs = new EnvelopeSample[_vector.OutputCountFor(BlockFrames) + Channels];
        _baselineOutputs = new float[_outputs.Length];
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Operations, Description = "NWaves BiQuadFilter.Process(float) per sample")]
    [BenchmarkCategory(Defaults)]
    public int NWaves() => RunNWaves(_nwaves);

    [Benchmark(OperationsPerInvoke = Operations, Description = "SignalChain, scalar kernel")]
    [BenchmarkCategory(Defaults)]
    public int Scalar() => Run(_scalar);

    [Benchmark(OperationsPerInvoke = Operations, Description = "SignalChain, Vector512<double> kernel")]
    [BenchmarkCategory(Defaults)]
    public int Vector() => Run(_vector);

    [Benchmark(Baseline = true, OperationsPerInvoke = Operations, Description = "NWaves BiQuadFilter.Process(float) per sample")]
    [BenchmarkCategory(FundamentalOnly)]
    public int NWavesOneNotch() => RunNWaves(_nwavesOneNotch);

    [Benchmark(OperationsPerInvoke = Operations, Description = "SignalChain, scalar kernel")]
    [BenchmarkCategory(FundamentalOnly)]
    public int ScalarOneNotch() => Run(_scalarOneNotch);

    [Benchmark(OperationsPerInvoke = Operations, Description = "SignalChain, Vector512<double> kernel")]
    [BenchmarkCategory(FundamentalOnly)]
    public int VectorOneNotch() => Run(_vectorOneNotch);

    [Benchmark(Baseline = true, OperationsPerInvoke = Operations, Description = "NWaves BiQuadFilter.Process(float) per sample")]
    [BenchmarkCategory(PerHarmonic)]
    public int NWavesPerHarmonic() => RunNWaves(_nwavesPerHarmonic);

    [Benchmark(OperationsPerInvoke = Operations, Description = "SignalChain, Vector512<double> kernel")]
    [BenchmarkCategory(PerHarmonic)]
    public int VectorPerHarmonic() => Run(_vectorPerHarmonic);

    private int Run(SignalChain chain)
    {
        int written = 0;
        ReadOnlySpan<ushort> counts = _counts;
        for (int at = 0; at < Instants; at += BlockFrames)
        {
            written += chain.Process(counts.Slice(at * Channels, BlockFrames * Channels), _outputs);
        }
        return written;
    }

    private int RunNWaves(NWavesChain chain)
    {
        int written = 0;
        ReadOnlySpan<ushort> counts = _counts;
        for (int at = 0; at < Instants; at += BlockFrames)
        {
            written += chain.Process(counts.Slice(at * Channels, BlockFrames * Channels), _baselineOutputs);
        }
        return written;
    }
}
