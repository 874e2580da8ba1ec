using System.Diagnostics.Metrics;

namespace EmgBiofeedback.Acquisition;

/// <summary>
/// The acquisition's counters as System.Diagnostics.Metrics instruments (read them live with
/// <c>dotnet-counters monitor -n EmgBiofeedback.Server --counters EmgBiofeedback.Acquisition</c>).
/// Observable instruments read the decoder's own counts when a listener asks, so the hot path pays nothing.
/// </summary>
public sealed class AcquisitionMetrics : IDisposable
{
    public const string MeterName = "EmgBiofeedback.Acquisition";

    private readonly Meter _meter;

    public AcquisitionMetrics(IMeterFactory meterFactory, AcquisitionLoop loop)
    {
        _meter = meterFactory.Create(MeterName);
        _meter.CreateObservableCounter("emg.acquisition.frames", () => loop.Counters.SampleFrames, "{frame}", "Sample frames decoded");
        _meter.CreateObservableCounter("emg.acquisition.lost_frames", () => loop.Counters.LostFrames, "{frame}", "Sample instants missing according to the sequence numbers");
        _meter.CreateObservableCounter("emg.acquisition.gaps", () => loop.Counters.Gaps, "{gap}", "Runs of missing sample instants");
        _meter.CreateObservableCounter("emg.acquisition.duplicates", () => loop.Counters.Duplicates, "{frame}", "Frames received twice or out of order, dropped");
        _meter.CreateObservableCounter("emg.acquisition.crc_errors", () => loop.Counters.CrcErrors, "{frame}", "Frames whose CRC did not match");
        _meter.CreateObservableCounter("emg.acquisition.malformed_frames", () => loop.Counters.MalformedFrames, "{frame}", "Frames with a valid CRC but an impossible payload");
        _meter.CreateObservableCounter("emg.acquisition.discarded_bytes", () => loop.Counters.DiscardedBytes, "By", "Bytes that were not part of any valid frame");
        _meter.CreateObservableCounter("emg.acquisition.resyncs", () => loop.Counters.Resyncs, "{resync}", "Times the decoder searched for the frame boundary again");
        _meter.CreateObservableCounter("emg.acquisition.reconnects", () => loop.Reconnects, "{reconnect}", "Connections to the board after the first");
        _meter.CreateObservableUpDownCounter("emg.acquisition.connected", () => loop.Connected ? 1 : 0, "{link}", "1 while the board is connected");
    }

    public void Dispose() => _meter.Dispose();
}
