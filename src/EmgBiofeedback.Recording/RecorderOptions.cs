using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace EmgBiofeedback.Recording;

/// <summary>Configuration section "Recording": where and how sessions are recorded.</summary>
public sealed class RecorderOptions
{
    public const string SectionName = "Recording";

    /// <summary>Folder the recordings are written to and replayed from (created when missing).</summary>
    [Required(AllowEmptyStrings = false)]
    public string Folder { get; set; } = "recordings";

    /// <summary>This station's name, in file names and the EDF+ recording field (no patient data).</summary>
    [Required, RegularExpression("^[A-Za-z0-9-]{1,20}$")]
    public string Station { get; set; } = "station1";

    /// <summary>
    /// Voltage gain from the electrodes to the ADC (V/V) that the physical scaling assumes. Default 200: the
    /// MyoWare 2.0 RAW output, the same default as Dsp:SensorGain (the host should pass that value).
    /// </summary>
    [Range(0.001, 1e6)]
    public double SensorGain { get; set; } = 200;

    /// <summary>Per-channel gains overriding <see cref="SensorGain"/>, by channel index.</summary>
    public List<double> ChannelGains { get; set; } = [];

    /// <summary>ADC count of 0 V at the electrodes; empty: mid-scale, 2^(bits-1) (as Dsp:AdcOffsetCounts).</summary>
    public double? AdcOffsetCounts { get; set; }

    /// <summary>
    /// Also fsync at every flush. Off by default: the once-a-second flush already hands the data to the operating
    /// system, which is what survives a killed process; fsync only adds power-loss safety at a latency cost.
    /// </summary>
    public bool FlushToDisk { get; set; }

    /// <summary>
    /// Notes (markers, connection events) a one-second record has room for, besides its gap note and closing notes:
    /// the annotation signal is sized from it (docs/recordings.md). Default 10: the sustained marker limit
    /// (Sessions:MarkersPerSecond). Notes beyond the room of the second they fall in are dropped and counted.
    /// </summary>
    [Range(1, 200)]
    public int NotesPerSecond { get; set; } = 10;
}

/// <summary>Configuration section "Replay": run the service on a recording instead of a board.</summary>
public sealed class ReplayOptions
{
    public const string SectionName = "Replay";

    /// <summary>A recording inside the recordings folder (Recording:Folder); empty: no replay.</summary>
    public string? File { get; set; }

    /// <summary>1 = real time, N = N times faster, 0 = as fast as possible.</summary>
    [Range(0.0, 1000.0)]
    public double Speed { get; set; } = 1;
}

[OptionsValidator]
public sealed partial class ReplayOptionsValidator : IValidateOptions<ReplayOptions>;

[OptionsValidator]
public sealed partial class RecorderOptionsValidator : IValidateOptions<RecorderOptions>;
