namespace EmgBiofeedback.EndToEnd.Tests;

/// <summary>
/// The station under each fault of issue 18, in one run (<see cref="E2eRun"/>: the faults follow each other in one
/// service lifetime, the kill last but one). Each test states one fault's pass rule and fails with every way the run
/// broke it; the table of the run is in bin/.../e2e/reliability-table.md (docs/reliability.md shows the long run's).
/// </summary>
public sealed class FaultTests(E2eRun run) : IClassFixture<E2eRun>
{
    private void Passes(string key) => Passes(p => p.Key == key);

    private void Passes(Func<PhaseResult, bool> which)
    {
        PhaseResult[] phases = run.Phases.Where(which).ToArray();
        Assert.True(phases.Length > 0, $"the run did not reach this fault: {run.Failure}\n{run.RunLog()}");
        Assert.True(run.ReportMarkdown.Length > 0, $"the run was not counted: {run.Failure}\n{run.RunLog()}");
        // The problems first and again after the run's report: a CI log is often read from its tail.
        string problems = string.Join("\n", phases.Where(p => p.Problems.Count > 0).Select(p => $"{p.Name}:\n  {string.Join("\n  ", p.Problems)}"));
        Assert.True(problems.Length == 0, $"{problems}\n\n{run.ReportMarkdown}\n\n{problems}");
    }

    /// <summary>The reference phase, and in a soak every session of it.</summary>
    [Fact]
    public void Without_a_fault_every_sample_is_recorded_in_history_and_delivered() => Passes(p => E2eRun.IsNoFault(p.Key));

    [Fact]
    public void One_percent_garbage_on_the_serial_line_loses_only_the_frames_it_hit_and_counts_each() => Passes("garbage");

    [Fact]
    public void The_serial_device_gone_and_back_every_10_s_loses_only_what_was_sent_meanwhile_and_counts_it() => Passes("unplug");

    [Fact]
    public void The_history_server_killed_for_20_s_loses_no_point() => Passes("history-killed");

    [Fact]
    public void The_history_server_hung_for_20_s_loses_no_point() => Passes("history-hung");

    [Fact]
    public void A_subscriber_that_stops_reading_costs_the_others_nothing_and_its_loss_is_counted() => Passes("stalled-client");

    [Fact]
    public void A_hundred_connects_and_disconnects_per_second_cost_the_others_nothing() => Passes("churn");

    [Fact]
    public void Malformed_and_oversized_gRPC_requests_get_errors_and_cost_nothing() => Passes("malformed");

    [Fact]
    public void The_clock_stepped_back_and_forward_by_a_minute_leaves_history_monotonic_without_collisions() => Passes("clock");

    [Fact]
    public void A_full_disk_stops_the_recorder_loudly_and_nothing_else() => Passes("disk-full");

    [Fact]
    public void SIGKILL_mid_session_keeps_the_recording_spool_and_calibration_and_a_new_session_starts() => Passes("kill");
}
