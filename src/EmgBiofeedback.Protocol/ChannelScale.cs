namespace EmgBiofeedback.Protocol;

/// <summary>
/// What one channel's counts mean: microvolts at the electrodes = (count - <see cref="ZeroCount"/>) x
/// <see cref="MicrovoltsPerCount"/>, with counts between <see cref="MinCount"/> and <see cref="MaxCount"/> (the rails).
/// The station's own board gets its scale from its ADC and the configured sensor gain; a recording carries its own
/// (the EDF/BDF header's physical and digital ranges), and every path that reads it uses that one.
/// </summary>
public readonly record struct ChannelScale(double MicrovoltsPerCount, double ZeroCount, int MinCount, int MaxCount)
{
    /// <summary>The scale of an ADC of <paramref name="adcBits"/> bits and reference <paramref name="referenceMillivolts"/>
    /// behind a sensor of gain <paramref name="sensorGain"/>; 0 V at <paramref name="zeroCount"/> (mid-scale when null).</summary>
    public static ChannelScale ForAdc(int adcBits, double referenceMillivolts, double sensorGain, double? zeroCount = null) =>
        new(referenceMillivolts * 1000.0 / (1 << adcBits) / sensorGain, zeroCount ?? (1 << (adcBits - 1)), 0, (1 << adcBits) - 1);

    /// <summary>Whether every count fits an unsigned 16-bit value (the wire format's and the vector kernel's input).</summary>
    public bool FitsUInt16 => MinCount >= 0 && MaxCount <= ushort.MaxValue;

    public double ToMicrovolts(double count) => (count - ZeroCount) * MicrovoltsPerCount;
}
