using System.Text;
using EmgBiofeedback.Dsp;
using EmgBiofeedback.Pipeline;
using EmgBiofeedback.Sessions;

namespace EmgBiofeedback.History.Tests;

public sealed class EncoderAndOptionsTests
{
    private static ActivationFrame Frame() => new()
    {
        Sequence = 1,
        SampleIndex = 1000,
        SampleTimeSeconds = 1.0,
        ComputedAt = DateTimeOffset.UnixEpoch,
        ComputedTimestamp = 0,
        Muscles =
        [
            new MuscleActivation(0, "SCM L", 12.5f, 34.25f, TargetState.Inside, SignalQualityFlags.None, true),
            new MuscleActivation(1, "Splenius", 3.1f, null, TargetState.Above, SignalQualityFlags.Clipping, false),
        ],
    };

    [Fact]
    public void Activation_points_are_line_protocol_with_sorted_tags_and_ns_timestamps()
    {
        var encoder = new LineProtocolEncoder("st 1");
        using var buffer = new LineBuffer();
        encoder.AppendActivation(buffer, Frame(), new HistorySession("S,1", "P017"), 1_700_000_000_123_456_789);

        // Tag values as the session's recording keeps them (the station's space becomes '_'), escaped for line protocol.
        Assert.Equal(
            "activation,muscle=SCM,patient=P017,session=S\\,1,side=left,source=unknown,station=st_1 rms_uv=12.5,mvc_pct=34.25,in_target=true,quality=0i,valid=true 1700000000123456789\n" +
            "activation,muscle=Splenius,patient=P017,session=S\\,1,side=none,source=unknown,station=st_1 rms_uv=3.1,in_target=false,quality=2i,valid=false 1700000000123456789\n",
            Encoding.UTF8.GetString(buffer.Written));
        Assert.Equal(2, buffer.Points);
    }

    [Fact]
    public void A_recorded_sessions_station_and_cut_labels_name_the_series()
    {
        var encoder = new LineProtocolEncoder("history-station");
        using var buffer = new LineBuffer();
        ActivationFrame frame = Frame();
        frame.Muscles[1] = frame.Muscles[1] with { Label = "Semispinalis capitis R" }; // the recording keeps 12 characters after "EMG "
        encoder.AppendActivation(buffer, frame, new HistorySession("S", "P", Station: "bay 3"), 1);
        string text = Encoding.UTF8.GetString(buffer.Written);
        Assert.Contains("activation,muscle=Semispinalis,patient=P,session=S,side=none,source=unknown,station=bay_3 ", text);
        Assert.DoesNotContain("history-station", text);
    }

    [Fact]
    public void Outside_a_session_points_are_tagged_none_and_the_configured_station()
    {
        var encoder = new LineProtocolEncoder("st");
        using var buffer = new LineBuffer();
        encoder.AppendActivation(buffer, Frame(), null, 1);
        Assert.StartsWith("activation,muscle=SCM,patient=none,session=none,side=left,source=unknown,station=st ", Encoding.UTF8.GetString(buffer.Written));
    }

    [Fact]
    public void Encoding_a_point_allocates_nothing()
    {
        var encoder = new LineProtocolEncoder("station-1");
        using var buffer = new LineBuffer(1 << 20);
        ActivationFrame frame = Frame();
        var session = new HistorySession("S", "P");
        encoder.AppendActivation(buffer, frame, session, 1);
        buffer.Clear();

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++)
        {
            encoder.AppendActivation(buffer, frame, session, 1_700_000_000_000_000_000 + i * 20_000_000L);
            if (buffer.Length > 900_000)
            {
                buffer.Clear();
            }
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
    }

    [Theory]
    [InlineData("SCM L", "SCM", Side.Left)]
    [InlineData("UT right", "UT", Side.Right)]
    [InlineData("Splenius", "Splenius", Side.Unspecified)]
    [InlineData("Levator scap R", "Levator scap", Side.Right)]
    public void Muscle_and_side_come_from_the_channel_label(string label, string muscle, Side side) =>
        Assert.Equal((muscle, side), ChannelLabels.Parse(label));

    [Fact]
    public void Disabled_history_needs_no_settings()
    {
        Assert.True(new HistoryOptionsValidator().Validate(null, new HistoryOptions()).Succeeded);
    }

    [Fact]
    public void Invalid_settings_are_named_in_the_failure()
    {
        var options = new HistoryOptions { Enabled = true, Url = "influx:8086", BatchSize = 0, SpoolMaxBytes = 10, TokenFile = "/nonexistent/token" };
        var result = new HistoryOptionsValidator().Validate(null, options);
        Assert.True(result.Failed);
        string all = string.Join("\n", result.Failures!);
        foreach (string setting in new[] { "History:Url", "History:Org", "History:Bucket", "History:TokenFile", "History:BatchSize", "History:SpoolMaxBytes" })
        {
            Assert.Contains(setting, all);
        }
    }

    [Fact]
    public void The_token_comes_from_a_secrets_file_and_is_never_in_ToString()
    {
        string file = Path.GetTempFileName();
        File.WriteAllText(file, "s3cret-token\n");
        var options = new HistoryOptions { TokenFile = file };
        Assert.Equal("s3cret-token", options.ResolveToken());
        Assert.DoesNotContain("s3cret", options.ToString());
        File.Delete(file);
    }

    [Fact]
    public void The_clock_follows_sample_time_and_re_anchors_on_a_drifting_host_clock()
    {
        var clock = new SampleClock(TimeSpan.FromMilliseconds(5));
        DateTimeOffset start = DateTimeOffset.UnixEpoch.AddYears(56);
        long first = clock.ToUnixNanoseconds(0, start);
        long previous = first;
        // The board's crystal runs 200 ppm slow against the host: after 100 s the host says 100.02 s.
        for (int i = 1; i <= 5000; i++)
        {
            double t = i * 0.02;
            long ns = clock.ToUnixNanoseconds(t, start.AddTicks((long)(t * 1.0002 * TimeSpan.TicksPerSecond)));
            Assert.True(ns > previous);
            previous = ns;
        }
        Assert.True(clock.ReAnchors >= 1);
        Assert.InRange(clock.Rate, 1.0001, 1.0003);
        Assert.InRange((previous - first) / 1e9, 100.015, 100.025);
    }

    [Fact]
    public void Back_to_back_replay_times_are_not_taken_for_drift()
    {
        var clock = new SampleClock();
        DateTimeOffset now = DateTimeOffset.UtcNow;
        long first = clock.ToUnixNanoseconds(0, now);
        long last = 0;
        for (int i = 1; i <= 3000; i++)
        {
            last = clock.ToUnixNanoseconds(i * 0.02, now); // all computed "at once"
        }
        Assert.Equal(60_000_000_000, last - first);
    }
}
