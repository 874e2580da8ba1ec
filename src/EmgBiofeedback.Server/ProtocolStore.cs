using System.Text.Json;
using EmgBiofeedback.Recording;
using EmgBiofeedback.Sessions;

namespace EmgBiofeedback.Server;

/// <summary>
/// Protocol templates: the built-in ones and those a clinician saved, one JSON file each in
/// "&lt;Recording:Folder&gt;/protocols/&lt;name&gt;.json", written atomically. A saved template may not reuse a built-in name.
/// </summary>
public sealed class ProtocolStore(string folder)
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
    private readonly Lock _gate = new();

    public string Folder { get; } = Path.Combine(folder, "protocols");

    public IReadOnlyList<ProtocolTemplate> List()
    {
        var templates = new List<ProtocolTemplate>(ProtocolTemplate.BuiltIn);
        if (Directory.Exists(Folder))
        {
            foreach (string file in Directory.EnumerateFiles(Folder, "*.json").Order(StringComparer.Ordinal))
            {
                if (TryRead(file) is { } t && templates.All(x => x.Name != t.Name))
                {
                    templates.Add(t);
                }
            }
        }
        return templates;
    }

    public ProtocolTemplate Find(string name) =>
        List().FirstOrDefault(t => string.Equals(t.Name, name, StringComparison.Ordinal))
        ?? throw new SessionRuleException("name", $"No protocol \"{name}\"; there are: {string.Join(", ", List().Select(t => t.Name))}.");

    public void Save(ProtocolTemplate template)
    {
        template.Validate();
        if (ProtocolTemplate.BuiltIn.Any(t => t.Name == template.Name))
        {
            throw new SessionRuleException("name", $"\"{template.Name}\" is a built-in protocol: save yours under another name.");
        }
        lock (_gate)
        {
            Directory.CreateDirectory(Folder);
            using AtomicOutput output = AtomicOutput.Create(Path.Combine(Folder, template.Name + ".json"));
            JsonSerializer.Serialize(output.Stream, template, Json);
            output.Commit();
        }
    }

    private static ProtocolTemplate? TryRead(string file)
    {
        try
        {
            ProtocolTemplate? t = JsonSerializer.Deserialize<ProtocolTemplate>(File.ReadAllBytes(file), Json);
            t?.Validate();
            return t;
        }
        catch (Exception e) when (e is JsonException or SessionRuleException or IOException or NotSupportedException)
        {
            return null; // a damaged template is skipped, never deleted (the file stays for the clinician to mend)
        }
    }
}
