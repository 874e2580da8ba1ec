using System.Globalization;

namespace EmgBiofeedback.Dsp.Tests.Support;

/// <summary>The BioSPPy example recordings (../shared/data/biosppy-emg, BSD-3-Clause): one channel, 1000 Hz, 12-bit.</summary>
internal static class Recordings
{
    public const double SampleRateHz = 1000;
    public const int AdcBits = 12;

    // The recordings do not say which amplifier made them; these values only set the µV scale, and every check
    // on the recordings is a ratio or a comparison with SciPy run on the same numbers.
    public const double ReferenceMillivolts = 3300;
    public const double SensorGain = 1000;

    public static ushort[] Load(string fileName)
    {
        string path = RepositoryPaths.SharedData("biosppy-emg", fileName);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"The BioSPPy recording {path} is missing; the tests expect ../shared/data/biosppy-emg beside the repository.", path);
        }
        var counts = new List<ushort>(100_000);
        foreach (string line in File.ReadLines(path))
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }
            counts.Add(checked((ushort)double.Parse(line, NumberStyles.Float, CultureInfo.InvariantCulture)));
        }
        return [.. counts];
    }
}
