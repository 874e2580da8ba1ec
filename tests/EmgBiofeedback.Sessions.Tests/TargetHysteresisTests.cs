using EmgBiofeedback.Sessions;

namespace EmgBiofeedback.Sessions.Tests;

/// <summary>
/// The requirement on feedback: a target state does not flicker on a signal hovering at the level
/// (hysteresis between Level and Release), and a change is reported only on the dwell-th consecutive valid frame
/// beyond the trip level (0.2 s = 10 frames at 50 Hz). Driven through <see cref="TargetTracker"/> directly and
/// through <see cref="ClinicalSession"/> (%MVC = µV via a reused calibration with MVC 100).
/// </summary>
public sealed class TargetHysteresisTests
{
    private const double Rate = Rig.OutputRateHz;
    private const int Dwell = 10;

    private static TargetTracker Below20() => new(TargetSpec.Below(20), Rate);

    private static TargetTracker Above20() => new(TargetSpec.Above(20), Rate);

    private static TargetState[] Run(TargetTracker t, IEnumerable<double> pct) => pct.Select(p => t.Step(p, true)).ToArray();

    private static int Changes(IReadOnlyList<TargetState> states)
    {
        int n = 0;
        for (int i = 1; i < states.Count; i++)
        {
            n += states[i] != states[i - 1] ? 1 : 0;
        }
        return n;
    }

    [Fact]
    public void Default_release_of_20_is_18_and_the_default_dwell_is_10_frames_at_50_Hz()
    {
        Assert.Equal(18, TargetSpec.DefaultRelease(20));
        Assert.Equal(0.2, TargetSpec.DefaultDwellSeconds);
        TargetTracker t = Below20();
        Assert.Equal(18, t.Spec.Release);
        Assert.Equal(Dwell, t.DwellFrames);
        Assert.Equal(TargetState.Unspecified, t.State);
    }

    [Fact]
    public void Below_target_oscillating_19_21_every_frame_does_not_flicker()
    {
        TargetTracker t = Below20();
        Run(t, Enumerable.Repeat(10.0, 20)); // settled inside
        var states = Run(t, Enumerable.Range(0, 1000).Select(i => i % 2 == 0 ? 19.0 : 21.0));
        Assert.True(Changes(states) <= 1, $"{Changes(states)} state changes on a 19/21 alternation");
        // Whatever the state settles to, it then holds to the end.
        Assert.All(states.Skip(Dwell), s => Assert.Equal(states[^1], s));
    }

    [Fact]
    public void Below_target_on_a_slow_jittery_sine_15_to_25_changes_exactly_twice_per_period()
    {
        TargetTracker t = Below20();
        const int period = 200; // 4 s at 50 Hz
        const int periods = 5;
        var pct = Enumerable.Range(0, period * periods)
            .Select(i => 20 + 5 * Math.Sin(2 * Math.PI * i / period - Math.PI / 2) + (i % 2 == 0 ? 0.9 : -0.9));
        var states = Run(t, pct);
        Assert.Equal(TargetState.Inside, states[0]);
        Assert.Equal(2 * periods, Changes(states));
        // A state never lasts less than the dwell.
        int run = 1;
        for (int i = 1; i < states.Length; i++)
        {
            if (states[i] != states[i - 1])
            {
                Assert.True(run >= Dwell, $"a state lasted {run} frames");
                run = 1;
            }
            else
            {
                run++;
            }
        }
    }

    [Theory]
    [InlineData(5)]
    [InlineData(37)]
    public void Below_target_step_10_to_30_at_frame_k_reports_Above_first_at_frame_k_plus_9(int k)
    {
        TargetTracker t = Below20();
        var states = Run(t, Enumerable.Range(0, k + 30).Select(i => i < k ? 10.0 : 30.0));
        Assert.All(states.Take(k + Dwell - 1), s => Assert.Equal(TargetState.Inside, s));
        Assert.All(states.Skip(k + Dwell - 1), s => Assert.Equal(TargetState.Above, s));
    }

    [Fact]
    public void Below_target_values_at_19_keep_Above_and_Inside_returns_on_the_10th_consecutive_frame_below_18()
    {
        TargetTracker t = Below20();
        Run(t, Enumerable.Repeat(10.0, 5));
        Run(t, Enumerable.Repeat(30.0, Dwell));
        Assert.Equal(TargetState.Above, t.State);
        Assert.All(Run(t, Enumerable.Repeat(19.0, 200)), s => Assert.Equal(TargetState.Above, s)); // inside the band: holds
        Assert.All(Run(t, Enumerable.Repeat(18.0, 50)), s => Assert.Equal(TargetState.Above, s));  // at the release level: holds
        var back = Run(t, Enumerable.Repeat(17.9, Dwell));
        Assert.All(back.Take(Dwell - 1), s => Assert.Equal(TargetState.Above, s));
        Assert.Equal(TargetState.Inside, back[^1]);
    }

    [Fact]
    public void Below_target_a_single_frame_beyond_the_level_then_hovering_at_19_stays_Inside()
    {
        // One 20-ms excursion to 25 is one frame beyond the trip level, not ten: the patient then sits at 19, below
        // the level of a "below 20" target. The state changes only on the 10th consecutive frame beyond the trip level.
        TargetTracker t = Below20();
        Run(t, Enumerable.Repeat(10.0, 20));
        t.Step(25, true);
        var states = Run(t, Enumerable.Repeat(19.0, 100));
        Assert.All(states, s => Assert.Equal(TargetState.Inside, s));
    }

    [Fact]
    public void Below_target_a_frame_at_19_interrupting_the_return_restarts_the_count_of_frames_below_18()
    {
        TargetTracker t = Below20();
        Run(t, Enumerable.Repeat(10.0, 5));
        Run(t, Enumerable.Repeat(30.0, Dwell));
        Assert.Equal(TargetState.Above, t.State);
        Run(t, Enumerable.Repeat(17.0, Dwell - 1));
        Assert.Equal(TargetState.Above, t.Step(19, true)); // values at 19 keep ABOVE
        var again = Run(t, Enumerable.Repeat(17.0, Dwell));
        Assert.All(again.Take(Dwell - 1), s => Assert.Equal(TargetState.Above, s));
        Assert.Equal(TargetState.Inside, again[^1]);
    }

    [Fact]
    public void Invalid_frames_hold_the_state_and_do_not_count_toward_the_dwell()
    {
        TargetTracker t = Below20();
        Run(t, Enumerable.Repeat(10.0, 5));
        Run(t, Enumerable.Repeat(30.0, 5));
        for (int i = 0; i < 20; i++)
        {
            Assert.Equal(TargetState.Inside, t.Step(30, false));
            Assert.Equal(TargetState.Inside, t.Step(double.NaN, true)); // no %MVC: same as invalid
        }
        var rest = Run(t, Enumerable.Repeat(30.0, 5));
        Assert.All(rest.Take(4), s => Assert.Equal(TargetState.Inside, s));
        Assert.Equal(TargetState.Above, rest[^1]); // the 10th valid frame beyond the level
        // An invalid frame with a low value does not bring the state back either.
        for (int i = 0; i < 20; i++)
        {
            Assert.Equal(TargetState.Above, t.Step(0, false));
        }
    }

    [Fact]
    public void An_invalid_first_frame_leaves_the_state_unspecified()
    {
        TargetTracker t = Below20();
        Assert.Equal(TargetState.Unspecified, t.Step(10, false));
        Assert.Equal(TargetState.Inside, t.Step(10, true));
    }

    [Theory]
    [InlineData(5)]
    [InlineData(23)]
    public void Above_target_step_10_to_30_at_frame_k_reports_Inside_first_at_frame_k_plus_9(int k)
    {
        TargetTracker t = Above20();
        var states = Run(t, Enumerable.Range(0, k + 30).Select(i => i < k ? 10.0 : 30.0));
        Assert.All(states.Take(k + Dwell - 1), s => Assert.Equal(TargetState.Below, s));
        Assert.All(states.Skip(k + Dwell - 1), s => Assert.Equal(TargetState.Inside, s));
    }

    [Fact]
    public void Above_target_values_at_19_keep_Inside_and_Below_returns_on_the_10th_consecutive_frame_below_18()
    {
        TargetTracker t = Above20();
        Run(t, Enumerable.Repeat(10.0, 5));
        Run(t, Enumerable.Repeat(30.0, Dwell));
        Assert.Equal(TargetState.Inside, t.State);
        Assert.All(Run(t, Enumerable.Repeat(19.0, 200)), s => Assert.Equal(TargetState.Inside, s));
        var back = Run(t, Enumerable.Repeat(17.0, Dwell));
        Assert.All(back.Take(Dwell - 1), s => Assert.Equal(TargetState.Inside, s));
        Assert.Equal(TargetState.Below, back[^1]);
    }

    [Fact]
    public void Above_target_oscillating_19_21_does_not_flicker()
    {
        TargetTracker t = Above20();
        Run(t, Enumerable.Repeat(10.0, 20));
        var states = Run(t, Enumerable.Range(0, 1000).Select(i => i % 2 == 0 ? 19.0 : 21.0));
        Assert.True(Changes(states) <= 1, $"{Changes(states)} state changes on a 19/21 alternation");
    }

    [Fact]
    public void Above_target_a_single_frame_at_25_then_hovering_at_19_does_not_enter()
    {
        TargetTracker u = Above20();
        Run(u, Enumerable.Repeat(10.0, 20));
        u.Step(25, true);
        Assert.All(Run(u, Enumerable.Repeat(19.0, 100)), s => Assert.Equal(TargetState.Below, s));
    }

    [Fact]
    public void Zero_dwell_reports_on_the_first_frame_beyond_the_level()
    {
        TargetTracker t = new(new TargetSpec(TargetDirection.Below, 20, 18, 0), Rate);
        Assert.Equal(0, t.DwellFrames);
        Assert.Equal(TargetState.Inside, t.Step(10, true));
        Assert.Equal(TargetState.Above, t.Step(20, true));
        Assert.Equal(TargetState.Above, t.Step(18, true));
        Assert.Equal(TargetState.Inside, t.Step(17.99, true));
    }

    [Theory]
    [InlineData(0, 18, 0.2, "level_pct")]
    [InlineData(201, 18, 0.2, "level_pct")]
    [InlineData(20, 20, 0.2, "release_pct")]
    [InlineData(20, -1, 0.2, "release_pct")]
    [InlineData(20, 18, 11, "dwell_seconds")]
    [InlineData(20, 18, -0.1, "dwell_seconds")]
    public void Target_validation_names_the_field(double level, double release, double dwell, string field)
    {
        var e = Assert.Throws<SessionRuleException>(() => new TargetSpec(TargetDirection.Below, level, release, dwell).Validate());
        Assert.Equal(field, e.Field);
    }

    // ---- the same through the session: calibration reused with MVC 100, so %MVC = µV ----

    private static Rig SessionWithTarget(string target)
    {
        var rig = new Rig();
        rig.Apply(Rig.ReusedScmL, 0);
        rig.Apply(target, 0);
        return rig;
    }

    private static Func<long, int, Env> OnScmL(double pct, bool valid = true) => (_, c) => c == 0 ? new Env(pct, Valid: valid) : new Env(7);

    [Fact]
    public void Session_below_target_step_reports_Above_on_frame_k_plus_9_holds_at_19_returns_after_10_frames_below_18()
    {
        Rig rig = SessionWithTarget("target SCM L below 20");
        var inside = rig.Frames(15, OnScmL(10));
        Assert.All(inside, v => Assert.Equal(new ClinicalValue(10f, TargetState.Inside, TargetSpec.Below(20)), v[0]));
        Assert.All(inside, v => Assert.Equal(new ClinicalValue(null, TargetState.Unspecified), v[1])); // not calibrated

        var up = rig.Frames(20, OnScmL(30));
        Assert.All(up.Take(Dwell - 1), v => Assert.Equal(TargetState.Inside, v[0].Target));
        Assert.All(up.Skip(Dwell - 1), v => Assert.Equal(TargetState.Above, v[0].Target));
        Assert.All(up, v => Assert.Equal(30f, v[0].MvcPercent));

        Assert.All(rig.Frames(100, OnScmL(19)), v => Assert.Equal(TargetState.Above, v[0].Target));

        // Invalid frames in the middle of the return hold the state and do not count.
        var down = rig.Frames(5, OnScmL(17)).Concat(rig.Frames(7, OnScmL(5, valid: false))).Concat(rig.Frames(5, OnScmL(17))).ToList();
        Assert.All(down.Take(16), v => Assert.Equal(TargetState.Above, v[0].Target));
        Assert.Equal(TargetState.Inside, down[^1][0].Target);

        // The frame store keeps the same states.
        var stored = rig.Session.Frames.States(0).ToArray();
        Assert.Equal(rig.Outputs.Select(o => o.Values[0].Target), stored);
    }

    [Fact]
    public void Session_below_target_a_single_frame_beyond_the_level_then_19_stays_Inside()
    {
        Rig rig = SessionWithTarget("target SCM L below 20");
        rig.Frames(15, OnScmL(10));
        rig.Frames(1, OnScmL(25));
        Assert.All(rig.Frames(50, OnScmL(19)), v => Assert.Equal(TargetState.Inside, v[0].Target));
    }

    [Fact]
    public void Session_below_target_19_21_alternation_does_not_flicker()
    {
        Rig rig = SessionWithTarget("target SCM L below 20");
        rig.Frames(15, OnScmL(10));
        var states = new List<TargetState>();
        for (int i = 0; i < 500; i++)
        {
            states.Add(rig.Frame(OnScmL(i % 2 == 0 ? 19 : 21))[0].Target);
        }
        Assert.True(Changes(states) <= 1);
    }

    [Fact]
    public void Session_above_target_step_reports_Inside_on_frame_k_plus_9_and_Below_after_10_frames_below_18()
    {
        Rig rig = SessionWithTarget("target SCM L above 20");
        Assert.All(rig.Frames(15, OnScmL(10)), v => Assert.Equal(TargetState.Below, v[0].Target));
        var up = rig.Frames(20, OnScmL(30));
        Assert.All(up.Take(Dwell - 1), v => Assert.Equal(TargetState.Below, v[0].Target));
        Assert.All(up.Skip(Dwell - 1), v => Assert.Equal(TargetState.Inside, v[0].Target));
        Assert.All(rig.Frames(100, OnScmL(19)), v => Assert.Equal(TargetState.Inside, v[0].Target));
        var down = rig.Frames(Dwell, OnScmL(17));
        Assert.All(down.Take(Dwell - 1), v => Assert.Equal(TargetState.Inside, v[0].Target));
        Assert.Equal(TargetState.Below, down[^1][0].Target);
    }

    [Fact]
    public void Session_live_SetTarget_applies_from_its_position_and_clearing_it_makes_the_state_unspecified()
    {
        var rig = new Rig();
        rig.Apply(Rig.ReusedScmL, 0);
        Assert.All(rig.Frames(5, OnScmL(10)), v => Assert.Equal(new ClinicalValue(10f, TargetState.Unspecified), v[0]));
        ClinicalAnnotation a = rig.Session.SetTarget("SCM L", TargetSpec.Below(20), rig.Session.NextPosition);
        Assert.Equal("target SCM L below 20", a.Text);
        Assert.Equal(rig.NextIndex - Rig.SamplesPerFrame + 1, a.Position);
        Assert.Equal(TargetState.Inside, rig.Frame(OnScmL(10))[0].Target);
        rig.Session.SetTarget("SCM L", null, rig.Session.NextPosition);
        Assert.Equal(TargetState.Unspecified, rig.Frame(OnScmL(10))[0].Target);
        Assert.Null(rig.Session.TargetOf("SCM L"));
    }

    [Fact]
    public void Session_refuses_a_target_for_a_label_outside_the_montage_or_a_partner_that_is_itself()
    {
        var rig = new Rig();
        Assert.Equal("label", Assert.Throws<SessionRuleException>(() => rig.Session.SetTarget("SPL L", TargetSpec.Below(20), 0)).Field);
        Assert.Equal("partner", Assert.Throws<SessionRuleException>(() =>
            rig.Session.SetTarget("SCM L", new TargetSpec(TargetDirection.Below, 20, 18, 0.2, "SCM L", 30), 0)).Field);
        Assert.Equal("level_pct", Assert.Throws<SessionRuleException>(() => rig.Session.SetTarget("SCM L", TargetSpec.Below(0), 0)).Field);
        Assert.Empty(rig.Notices);
    }
}
