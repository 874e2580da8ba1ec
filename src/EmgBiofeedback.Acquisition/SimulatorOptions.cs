using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace EmgBiofeedback.Acquisition;

/// <summary>
/// Configuration section "Acquisition:Simulator": the built-in board. Its defaults model a patient with an
/// overactive left sternocleidomastoid (the commonest pattern in rotational cervical dystonia) wearing the
/// bilateral neck montage, seen through MyoWare 2.0 sensors on a 10-bit, 5 V Arduino.
/// </summary>
public sealed class SimulatorOptions
{
    [Range(1, 16)]
    public int Channels { get; set; } = 8;

    [Range(100, 4000)]
    public int SampleRateHz { get; set; } = 1000;

    /// <summary>Mains frequency of the hum the electrodes pick up: 50 (Europe) or 60 (Americas).</summary>
    [AllowedValues(50, 60)]
    public int MainsHz { get; set; } = 50;

    /// <summary>Amplitude of the hum at the electrodes, microvolts (peak).</summary>
    [Range(0.0, 1000.0)]
    public double MainsMicrovolts { get; set; } = 8;

    /// <summary>Electrode and amplifier noise at rest, microvolts RMS (SENIAM: a few microvolts).</summary>
    [Range(0.0, 100.0)]
    public double BaselineNoiseMicrovolts { get; set; } = 3;

    /// <summary>Mean seconds between motion artefacts (a head turn tugging the leads); 0 turns them off.</summary>
    [Range(0.0, 3600.0)]
    public double MotionArtefactIntervalSeconds { get; set; } = 20;

    /// <summary>Seed of the random generator: the same seed gives the same byte stream.</summary>
    public int Seed { get; set; } = 20261125;

    /// <summary>
    /// One pattern per channel, in channel order; channels past the list's end are at rest. Empty means
    /// <see cref="MusclePattern.CervicalDystoniaLeftScm"/>.
    /// </summary>
    [ValidateEnumeratedItems]
    public List<MusclePattern> Muscles { get; set; } = [];

    public IReadOnlyList<MusclePattern> EffectiveMuscles(int channels)
    {
        IReadOnlyList<MusclePattern> source = Muscles.Count > 0 ? Muscles : MusclePattern.CervicalDystoniaLeftScm;
        var result = new MusclePattern[channels];
        for (int i = 0; i < channels; i++)
        {
            result[i] = i < source.Count ? source[i] : new MusclePattern { Label = $"CH{i + 1}" };
        }
        return result;
    }
}

/// <summary>What one simulated muscle does: a tonic level plus periodic bursts (spasms or contractions).</summary>
public sealed class MusclePattern
{
    [Required, StringLength(16, MinimumLength = 1)]
    public string Label { get; set; } = "CH";

    /// <summary>Steady activation, microvolts RMS at the electrodes.</summary>
    [Range(0.0, 5000.0)]
    public double TonicMicrovolts { get; set; }

    /// <summary>Activation during a burst, microvolts RMS.</summary>
    [Range(0.0, 5000.0)]
    public double BurstMicrovolts { get; set; }

    /// <summary>Seconds from one burst's start to the next; 0 means no bursts.</summary>
    [Range(0.0, 3600.0)]
    public double BurstPeriodSeconds { get; set; }

    [Range(0.0, 3600.0)]
    public double BurstSeconds { get; set; }

    /// <summary>Seconds into the period at which the burst starts, so muscles need not fire together.</summary>
    [Range(0.0, 3600.0)]
    public double BurstPhaseSeconds { get; set; }

    /// <summary>
    /// Rise and fall time of a burst (a raised cosine), seconds; 0 makes the burst a step in amplitude at a known
    /// sample instant, what a latency measurement needs.
    /// </summary>
    [Range(0.0, 10.0)]
    public double BurstEdgeSeconds { get; set; } = 0.15;

    /// <summary>
    /// The bilateral neck montage: left SCM overactive (tonic activity and a spasm every 6 s), its
    /// synergist the right splenius co-contracting, the rest near rest with voluntary shrugs on the trapezii.
    /// </summary>
    public static IReadOnlyList<MusclePattern> CervicalDystoniaLeftScm { get; } =
    [
        new() { Label = "SCM L", TonicMicrovolts = 35, BurstMicrovolts = 180, BurstPeriodSeconds = 6, BurstSeconds = 1.5, BurstPhaseSeconds = 1 },
        new() { Label = "SCM R", TonicMicrovolts = 6 },
        new() { Label = "UT L", TonicMicrovolts = 8, BurstMicrovolts = 120, BurstPeriodSeconds = 10, BurstSeconds = 2, BurstPhaseSeconds = 5 },
        new() { Label = "UT R", TonicMicrovolts = 8, BurstMicrovolts = 120, BurstPeriodSeconds = 10, BurstSeconds = 2, BurstPhaseSeconds = 5 },
        new() { Label = "SPL L", TonicMicrovolts = 5 },
        new() { Label = "SPL R", TonicMicrovolts = 20, BurstMicrovolts = 90, BurstPeriodSeconds = 6, BurstSeconds = 1.5, BurstPhaseSeconds = 1 },
        new() { Label = "LS L", TonicMicrovolts = 5 },
        new() { Label = "LS R", TonicMicrovolts = 5 },
    ];
}
