using System.Diagnostics.Metrics;
using EmgBiofeedback.Acquisition;
using Microsoft.AspNetCore.Builder;

namespace EmgBiofeedback.Server.Tests;

public class MetricsTests
{
    [Fact]
    public async Task The_acquisition_counters_are_published_as_metrics_a_listener_can_read()
    {
        WebApplicationBuilder builder = WebApplication.CreateBuilder(ServerProcess.AnyPorts);
        builder.AddEmgBiofeedback();
        await using WebApplication app = builder.Build();
        app.MapEmgBiofeedback();
        var values = new Dictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == StationMetrics.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => { lock (values) { values[instrument.Name] = value; } });
        listener.SetMeasurementEventCallback<int>((instrument, value, _, _) => { lock (values) { values[instrument.Name] = value; } });
        listener.Start();

        await app.StartAsync();
        long Frames()
        {
            listener.RecordObservableInstruments();
            lock (values) { return values.GetValueOrDefault("emg.acquisition.frames"); }
        }
        DateTime deadline = DateTime.UtcNow.AddSeconds(30);
        while (Frames() < 500 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }
        await app.StopAsync();

        Assert.True(Frames() >= 500, "frames counter did not reach 500");
        string[] expected =
        [
            "emg.acquisition.lost_frames", "emg.acquisition.gaps", "emg.acquisition.duplicates", "emg.acquisition.crc_errors",
            "emg.acquisition.malformed_frames", "emg.acquisition.discarded_bytes", "emg.acquisition.resyncs", "emg.acquisition.reconnects",
        ];
        lock (values)
        {
            Assert.All(expected, name => Assert.Equal(0, values[name]));
        }
    }
}
