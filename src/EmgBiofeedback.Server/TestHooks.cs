using System.Globalization;

namespace EmgBiofeedback.Server;

/// <summary>
/// Fault injection for the end-to-end tests (docs/reliability.md), read only when its environment variable is set; a
/// station never sets it. <c>EMG_TEST_CLOCK_OFFSET_FILE</c>: a file holding a number of seconds that the service's
/// wall clock (<see cref="TimeProvider.GetUtcNow"/>, and so local time) is offset by, re-read every 50 ms, so a test can
/// step the clock back and forward during a session the way an NTP step or an operator would, without changing the
/// clock of the whole machine. The monotonic clock (<see cref="TimeProvider.GetTimestamp"/>) is not touched, as a real
/// step does not touch CLOCK_MONOTONIC. Only code that asks the host's <see cref="TimeProvider"/> sees the step.
/// </summary>
public static partial class TestHooks
{
    public const string ClockOffsetFileVariable = "EMG_TEST_CLOCK_OFFSET_FILE";

    public static WebApplicationBuilder AddTestHooks(this WebApplicationBuilder builder)
    {
        string? file = Environment.GetEnvironmentVariable(ClockOffsetFileVariable);
        if (!string.IsNullOrEmpty(file))
        {
            // Registered after HostSetup's TimeProvider.System: the last registration is the one resolved.
            builder.Services.AddSingleton<TimeProvider>(sp => new OffsetClock(file, sp.GetRequiredService<ILoggerFactory>().CreateLogger("EmgBiofeedback.Server.TestHooks")));
        }
        return builder;
    }

    /// <summary>The system clock plus an offset read from a file.</summary>
    internal sealed partial class OffsetClock : TimeProvider, IDisposable
    {
        private readonly string _file;
        private readonly ILogger _logger;
        private readonly Timer _poll;
        private long _offsetTicks;

        public OffsetClock(string file, ILogger logger)
        {
            _file = file;
            _logger = logger;
            Read();
            _poll = new Timer(_ => Read(), null, TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(50));
        }

        public override DateTimeOffset GetUtcNow() => base.GetUtcNow().AddTicks(Interlocked.Read(ref _offsetTicks));

        private void Read()
        {
            string text;
            try
            {
                text = File.ReadAllText(_file).Trim();
            }
            catch (IOException)
            {
                return; // being rewritten, or not there yet: keep the offset
            }
            if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds))
            {
                return;
            }
            long ticks = (long)Math.Round(seconds * TimeSpan.TicksPerSecond);
            if (Interlocked.Exchange(ref _offsetTicks, ticks) != ticks)
            {
                Stepped(_logger, seconds, ClockOffsetFileVariable);
            }
        }

        public void Dispose() => _poll.Dispose();

        [LoggerMessage(900, LogLevel.Warning, "Test hook: the wall clock is now offset by {Seconds} s ({Variable})")]
        private static partial void Stepped(ILogger logger, double seconds, string variable);
    }
}
