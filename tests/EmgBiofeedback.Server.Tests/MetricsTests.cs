using System.Diagnostics.Metrics;
using EmgBiofeedback.Acquisition;
using EmgBiofeedback.Contracts.V1;
using Grpc.Core;
using Grpc.Net.Client;
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

    [Fact]
    public async Task Each_frame_handed_to_a_stream_is_recorded_in_the_arrival_to_stream_histogram_of_the_EmgBiofeedback_meter()
    {
        string address = $"http://127.0.0.1:{FreePorts.Next()}";
        WebApplicationBuilder builder = WebApplication.CreateBuilder([$"--Api:GrpcUrl={address}", $"--Api:BrowserUrl=http://127.0.0.1:{FreePorts.Next()}"]);
        builder.AddEmgBiofeedback();
        await using WebApplication app = builder.Build();
        app.MapEmgBiofeedback();
        var latencies = new List<double>();
        using var listener = new ArrivalLatencyListener(value => { lock (latencies) { latencies.Add(value); } });
        await app.StartAsync();

        using (GrpcChannel channel = GrpcChannel.ForAddress(address))
        using (AsyncServerStreamingCall<ActivationFrame> call = new Live.LiveClient(channel).StreamActivation(new StreamActivationRequest()))
        {
            for (int frames = 0; frames < 50 && await call.ResponseStream.MoveNext(CancellationToken.None); frames++)
            {
            }
        }
        await app.StopAsync();

        Assert.Equal("ms", listener.Unit);
        double[] recorded;
        lock (latencies)
        {
            recorded = [.. latencies];
        }
        // One per frame handed over (the 50th may still be on its way to the histogram when the stream ends).
        Assert.InRange(recorded.Length, 49, 60);
        Assert.All(recorded, ms => Assert.InRange(ms, 0.001, 2000));
    }
}
