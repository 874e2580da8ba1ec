using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace EmgBiofeedback.Acquisition;

/// <summary>Configuration section "Acquisition". With no serial port named, the simulated board runs.</summary>
public sealed class AcquisitionOptions
{
    public const string SectionName = "Acquisition";

    [Required, ValidateObjectMembers]
    public SerialOptions Serial { get; set; } = new();

    [Required, ValidateObjectMembers]
    public SimulatorOptions Simulator { get; set; } = new();


    /// <summary>Longest wait between reconnect attempts; attempts back off exponentially up to it, with jitter.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00")]
    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often the host logs its one-line status.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan StatusInterval { get; set; } = TimeSpan.FromSeconds(2);

    public bool UsesSerialPort => !string.IsNullOrWhiteSpace(Serial.PortName);
}

/// <summary>Configuration section "Acquisition:Serial".</summary>
public sealed class SerialOptions
{
    /// <summary>Device path (/dev/ttyACM0, /dev/ttyUSB0, a pty) or COM port; empty means the simulated board.</summary>
    public string? PortName { get; set; }

    /// <summary>
    /// 500 000 baud is exact on a 16 MHz AVR and carries 8 channels x 1000 Hz in 52% of the line
    /// (docs/protocol.md, bandwidth budget).
    /// </summary>
    [Range(9600, 4_000_000)]
    public int BaudRate { get; set; } = 500_000;

    /// <summary>Sample rate to ask the board for on connect (SET_RATE); empty keeps the board's own.</summary>
    [Range(1, 65_535)]
    public int? SampleRateHz { get; set; }

    /// <summary>Channel count to ask the board for on connect (SET_CHANNELS); empty keeps the board's own.</summary>
    [Range(1, 16)]
    public int? Channels { get; set; }
}

/// <summary>Checks every setting of the section, nested ones included (source-generated).</summary>
[OptionsValidator]
public sealed partial class AcquisitionOptionsValidator : IValidateOptions<AcquisitionOptions>;
