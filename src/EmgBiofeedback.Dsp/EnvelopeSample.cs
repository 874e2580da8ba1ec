using System.Runtime.InteropServices;

namespace EmgBiofeedback.Dsp;

/// <summary>
/// One channel's envelope at one output instant. <see cref="SignalChain.Process(ReadOnlySpan{ushort}, Span{EnvelopeSample})"/>
/// writes them frame-major: for each output instant, one sample per channel in channel order.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public readonly record struct EnvelopeSample
{
    /// <summary>
    /// Index of the last sample instant inside the window (0-based since start or <see cref="SignalChain.Reset"/>,
    /// counting lost instants), so that time = SampleIndex / sample rate. The RMS lags it by half a window.
    /// </summary>
    public long SampleIndex { get; init; }

    /// <summary>RMS of the band-passed (and notched) signal over the sliding window, µV at the electrodes.</summary>
    public double RmsMicrovolts { get; init; }

    /// <summary>Linear envelope (rectified, low-passed) at this instant, µV; NaN when the linear envelope is disabled.</summary>
    public double LinearEnvelopeMicrovolts { get; init; }

    /// <summary>
    /// Share of the band-passed power that sits at the mains frequencies, over the RMS window: power removed by the
    /// mains notches / (that + the power left after them). 0 = no mains, 1 = nothing but mains.
    /// </summary>
    public float MainsRatio { get; init; }

    /// <summary>Quietest valid RMS over the baseline window (noise floor at rest), µV; NaN until one valid RMS exists.</summary>
    public float BaselineNoiseMicrovolts { get; init; }

    /// <summary>Channel index.</summary>
    public short Channel { get; init; }

    /// <summary>Signal-quality problems seen over the window.</summary>
    public SignalQualityFlags Quality { get; init; }

    /// <summary>
    /// False while the filters and the RMS window are still settling after the start, <see cref="SignalChain.Reset"/>
    /// or a gap (<see cref="SignalChain.MarkGap"/>): the values are then not to be shown as muscle activity.
    /// </summary>
    public bool IsValid { get; init; }
}

/// <summary>Signal-quality problems of one channel over one window.</summary>
[Flags]
public enum SignalQualityFlags : byte
{
    /// <summary>No problem seen.</summary>
    None = 0,

    /// <summary>The raw counts barely move: electrode off, cable unplugged or sensor unpowered.</summary>
    Flatline = 1,

    /// <summary>The ADC reached a rail: the amplitude is underestimated and the spectrum distorted.</summary>
    Clipping = 2,

    /// <summary>Mains hum carries more than the threshold share of the band power: check electrode contact and reference.</summary>
    MainsContamination = 4,

    /// <summary>The noise floor at rest is above the threshold: poor skin preparation or a loose electrode.</summary>
    NoisyBaseline = 8,
}
