using System.Text.Json;
using System.Text.RegularExpressions;
using EmgBiofeedback.Recording;
using EmgBiofeedback.Sessions;

namespace EmgBiofeedback.Server;

/// <summary>A patient's calibration as stored: per muscle label, and when it was saved.</summary>
public sealed record StoredCalibration(string Station, string PatientCode, DateTimeOffset SavedAt, IReadOnlyDictionary<string, MuscleCalibration> Muscles);

/// <summary>
/// Calibrations per station and patient code, kept across restarts in
/// "&lt;Recording:Folder&gt;/calibrations/&lt;station&gt;/&lt;patient&gt;.json". Each save writes a complete new file beside the old one,
/// flushes it to disk and renames it over the old one (<see cref="AtomicOutput"/>), so a crash or a kill at any moment
/// leaves either the previous calibration or the new one, never a mixture or nothing. Patient codes only, never names.
/// </summary>
public sealed partial class CalibrationStore(string folder)
{
    private readonly Lock _gate = new();

    public string Folder { get; } = Path.Combine(folder, "calibrations");

    private string PathOf(string station, string patientCode)
    {
        if (!SafeName().IsMatch(station) || !SafeName().IsMatch(patientCode))
        {
            throw new SessionRuleException("patient_code", $"\"{station}/{patientCode}\" cannot name a calibration file: letters, digits, '-' and '_' only.");
        }
        return Path.Combine(Folder, station, patientCode + ".json");
    }

    /// <summary>Saves the calibrations (all muscles calibrated now) for the patient, atomically.</summary>
    public void Save(string station, string patientCode, IReadOnlyDictionary<string, MuscleCalibration> muscles)
    {
        string path = PathOf(station, patientCode);
        lock (_gate)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            using AtomicOutput output = AtomicOutput.Create(path);
            using (var w = new Utf8JsonWriter(output.Stream, new JsonWriterOptions { Indented = true }))
            {
                w.WriteStartObject();
                w.WriteString("schema", "emg-calibration/1");
                w.WriteString("station", station);
                w.WriteString("patient_code", patientCode);
                w.WriteString("saved_at", DateTimeOffset.UtcNow);
                w.WriteStartObject("muscles");
                foreach ((string label, MuscleCalibration c) in muscles.OrderBy(m => m.Key, StringComparer.Ordinal))
                {
                    w.WriteStartObject(label);
                    w.WriteNumber("rest_uv", c.RestMicrovolts);
                    w.WriteNumber("mvc_uv", c.MvcMicrovolts);
                    w.WriteString("method", c.Method);
                    w.WriteString("calibrated_at", c.CalibratedAt);
                    w.WriteEndObject();
                }
                w.WriteEndObject();
                w.WriteEndObject();
            }
            if (SaveDelay > TimeSpan.Zero)
            {
                Thread.Sleep(SaveDelay); // fault injection: the complete new file waits beside the old one
            }
            output.Commit();
        }
    }

    /// <summary>
    /// Fault injection for the crash tests (docs/reliability.md): EMG_TEST_CALIBRATION_SAVE_DELAY_MS holds a save between
    /// writing the new file and renaming it over the old one, so a test can kill the process at that moment.
    /// </summary>
    private static readonly TimeSpan SaveDelay = int.TryParse(Environment.GetEnvironmentVariable("EMG_TEST_CALIBRATION_SAVE_DELAY_MS"), out int ms) && ms > 0
        ? TimeSpan.FromMilliseconds(Math.Min(ms, 60_000)) : TimeSpan.Zero;

    /// <summary>The stored calibration, or null when there is none. A damaged file is reported, never used and never deleted.</summary>
    public StoredCalibration? Load(string station, string patientCode)
    {
        string path = PathOf(station, patientCode);
        if (!File.Exists(path))
        {
            return null;
        }
        try
        {
            using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(path));
            JsonElement root = doc.RootElement;
            var muscles = new Dictionary<string, MuscleCalibration>();
            foreach (JsonProperty m in root.GetProperty("muscles").EnumerateObject())
            {
                double rest = m.Value.GetProperty("rest_uv").GetDouble(), mvc = m.Value.GetProperty("mvc_uv").GetDouble();
                if (!(mvc > 0) || !double.IsFinite(rest))
                {
                    throw new InvalidDataException($"muscle {m.Name}: mvc_uv {mvc} is not a positive number");
                }
                muscles[m.Name] = new MuscleCalibration(rest, mvc, m.Value.GetProperty("method").GetString() ?? "", m.Value.GetProperty("calibrated_at").GetDateTimeOffset());
            }
            return new StoredCalibration(station, patientCode, root.GetProperty("saved_at").GetDateTimeOffset(), muscles);
        }
        catch (Exception e) when (e is JsonException or InvalidDataException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"The stored calibration {path} cannot be read ({e.Message}); it is left as it is: calibrate again.", e);
        }
    }

    [GeneratedRegex(@"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}\z")]
    private static partial Regex SafeName();
}
