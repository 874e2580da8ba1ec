using System.CommandLine;
using System.Globalization;
using EmgBiofeedback.Acquisition;

namespace EmgBiofeedback.Cli;

/// <summary>
/// <c>emg board --device PATH</c>: the simulated board behind a serial device (one end of a socat pty pair), so the
/// service reads it through its real serial path. With <c>--step-channels</c> the named channels step in amplitude
/// at known sample instants, for measuring latency from sensor to screen. Prints its timeline on stdout:
/// <c>ORIGIN &lt;unix ms&gt; RATE &lt;Hz&gt;</c> (the wall-clock time of sample instant 0) whenever it starts or
/// changes, and once, with steps, <c>STEPS first=&lt;sample&gt; every=&lt;samples&gt; channels=&lt;list&gt;</c>.
/// </summary>
internal static class BoardCommand
{
    public static void Add(RootCommand root)
    {
        var device = new Option<string>("--device") { Description = "The board's end of a pty pair (socat), or any serial device path.", Required = true };
        var channels = new Option<int>("--channels") { Description = "Channels (1-16).", DefaultValueFactory = _ => 8 };
        var rate = new Option<int>("--rate") { Description = "Samples per second per channel (100-4000).", DefaultValueFactory = _ => 1000 };
        var gain = new Option<double>("--gain") { Description = "Sensor gain the service is configured with (Dsp:SensorGain), V/V.", DefaultValueFactory = _ => 200 };
        var stepChannels = new Option<string?>("--step-channels") { Description = "Channels (1-based, comma-separated) that step from --step-low to --step-high µV RMS and back, every --step-period seconds. Without it: the default cervical-dystonia patterns." };
        var low = new Option<double>("--step-low") { Description = "Activation between steps, µV RMS.", DefaultValueFactory = _ => 20 };
        var high = new Option<double>("--step-high") { Description = "Activation during a step, µV RMS.", DefaultValueFactory = _ => 150 };
        var period = new Option<double>("--step-period") { Description = "Seconds from one step up to the next.", DefaultValueFactory = _ => 1 };
        var hold = new Option<double>("--step-seconds") { Description = "Seconds each step stays high.", DefaultValueFactory = _ => 0.5 };
        var at = new Option<double>("--step-at") { Description = "Seconds into each period at which the step rises.", DefaultValueFactory = _ => 0.25 };
        var command = new Command("board", "Runs the simulated board on a serial device (a pty pair's end) in real time, optionally with amplitude steps at known samples.")
        {
            device, channels, rate, gain, stepChannels, low, high, period, hold, at,
        };
        command.SetAction(async (r, ct) =>
        {
            SimulatorOptions options;
            try
            {
                options = Options(r.GetValue(channels), r.GetValue(rate), r.GetValue(stepChannels), r.GetValue(low), r.GetValue(high),
                    r.GetValue(period), r.GetValue(hold), r.GetValue(at));
            }
            catch (ArgumentException e)
            {
                await Console.Error.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
                return 2;
            }
            var driver = new SimulatedBoardDriver(new SimulatedBoard(options, r.GetValue(gain)), TimeProvider.System);
            var port = new SimulatedBoardPort(driver, r.GetValue(device)!, TimeProvider.System);
            if (r.GetValue(stepChannels) is not null)
            {
                MusclePattern step = options.Muscles.First(m => m.BurstPeriodSeconds > 0);
                string list = string.Join(',', options.Muscles.Select((m, i) => (m, i)).Where(x => x.m.BurstPeriodSeconds > 0).Select(x => x.i + 1));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"STEPS first={Math.Round(step.BurstPhaseSeconds * options.SampleRateHz)} every={Math.Round(step.BurstPeriodSeconds * options.SampleRateHz)} high={Math.Round(step.BurstSeconds * options.SampleRateHz)} channels={list}"));
            }
            Task running = port.RunAsync(ct);
            DateTimeOffset printed = default;
            try
            {
                while (!running.IsCompleted)
                {
                    if (driver.OriginUtc != printed && driver.OriginUtc != default)
                    {
                        printed = driver.OriginUtc;
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"ORIGIN {printed.ToUnixTimeMilliseconds() + (printed.Ticks % TimeSpan.TicksPerMillisecond) / (double)TimeSpan.TicksPerMillisecond:F3} RATE {driver.OriginRateHz}"));
                    }
                    await Task.WhenAny(running, Task.Delay(20, ct)).ConfigureAwait(false);
                }
                await running.ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                // Ctrl-C: the board is switched off.
            }
            return 0;
        });
        root.Subcommands.Add(command);
    }

    internal static SimulatorOptions Options(int channels, int rate, string? stepChannels, double low, double high, double period, double hold, double at)
    {
        if (channels is < 1 or > 16)
        {
            throw new ArgumentException($"--channels {channels}: must be 1-16.");
        }
        if (rate is < 100 or > 4000)
        {
            throw new ArgumentException($"--rate {rate}: must be 100-4000.");
        }
        var options = new SimulatorOptions { Channels = channels, SampleRateHz = rate };
        if (stepChannels is null)
        {
            return options;
        }
        if (!(low >= 0 && high > low && high <= 5000))
        {
            throw new ArgumentException($"--step-low {low} / --step-high {high}: need 0 <= low < high <= 5000 µV.");
        }
        if (!(period > 0 && hold > 0 && hold < period && at >= 0 && at < period))
        {
            throw new ArgumentException($"--step-period {period}, --step-seconds {hold}, --step-at {at}: need 0 < seconds < period and 0 <= at < period.");
        }
        var stepped = new HashSet<int>();
        foreach (string part in stepChannels.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out int ch) || ch < 1 || ch > channels)
            {
                throw new ArgumentException($"--step-channels: '{part}' is not a channel 1-{channels}.");
            }
            stepped.Add(ch - 1);
        }
        // Steps need a quiet line: no lead tugs; the hum and electrode noise stay, as on a real board.
        options.MotionArtefactIntervalSeconds = 0;
        for (int i = 0; i < channels; i++)
        {
            options.Muscles.Add(stepped.Contains(i)
                ? new MusclePattern
                {
                    Label = $"CH{i + 1}", TonicMicrovolts = low, BurstMicrovolts = high - low,
                    BurstPeriodSeconds = period, BurstSeconds = hold, BurstPhaseSeconds = at, BurstEdgeSeconds = 0,
                }
                : new MusclePattern { Label = $"CH{i + 1}", TonicMicrovolts = 5 });
        }
        return options;
    }
}
