using System.Diagnostics.Metrics;

namespace EmgBiofeedback.Server.Tests;

/// <summary>
/// Listens, from its creation to its disposal, to the histogram <c>emg.latency.arrival_to_stream</c> on the meter
/// <c>EmgBiofeedback</c> (the names the exporter and the dashboard use), handing each recorded value to a callback.
/// </summary>
internal sealed class ArrivalLatencyListener : IDisposable
{
    private readonly MeterListener _listener = new();

    public ArrivalLatencyListener(Action<double> onValue)
    {
        _listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "EmgBiofeedback" && instrument.Name == "emg.latency.arrival_to_stream")
            {
                Unit = instrument.Unit;
                l.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<double>((_, value, _, _) => onValue(value));
        _listener.Start();
    }

    /// <summary>The instrument's unit, once it is published.</summary>
    public string? Unit { get; private set; }

    public void Dispose() => _listener.Dispose();
}
