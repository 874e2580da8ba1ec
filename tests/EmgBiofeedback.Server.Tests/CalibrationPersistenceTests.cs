using EmgBiofeedback.Sessions;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using V1 = EmgBiofeedback.Contracts.V1;

namespace EmgBiofeedback.Server.Tests;

/// <summary>
/// A patient's stored calibration survives the service being killed (SIGKILL) in the middle of saving a new one: after
/// the restart the previous calibration is offered, exactly, and no half-written file is taken for a calibration. And a
/// save that completed is what a restart offers.
/// </summary>
/// <remarks>
/// Hitting the save deterministically needs a hook in the service: <c>EMG_TEST_CALIBRATION_SAVE_DELAY_MS</c>, read by
/// <see cref="CalibrationStore.Save"/>, sleeps that long after the temporary file is written and flushed and before it is
/// renamed over the stored one. Without the hook the save takes microseconds and the first test fails saying so.
/// </remarks>
public class CalibrationPersistenceTests
{
    private const string DelayVariable = "EMG_TEST_CALIBRATION_SAVE_DELAY_MS";
    private static readonly string[] Labels = ["SCM L", "SCM R", "UT L", "UT R"];

    [Fact]
    public async Task A_kill_during_a_calibration_save_leaves_the_previous_calibration_stored_and_offered()
    {
        string folder = Directory.CreateTempSubdirectory("emg-calibration-kill-").FullName;
        try
        {
            const string patient = "P-KILL-01";
            var store = new CalibrationStore(folder);
            store.Save(ClinicalServer.Station, patient, ClinicalServer.Calibration(6.25, 150.5, new DateTimeOffset(2026, 10, 1, 8, 0, 0, TimeSpan.Zero), Labels));
            StoredCalibration a = store.Load(ClinicalServer.Station, patient)!;
            string storedFile = Path.Combine(store.Folder, ClinicalServer.Station, patient + ".json");
            byte[] aBytes = File.ReadAllBytes(storedFile);

            var delayed = new Dictionary<string, string> { [DelayVariable] = "60000" };
            await using (ClinicalServer server = ClinicalServer.Start(folder, delayed))
            {
                using GrpcChannel channel = GrpcChannel.ForAddress(server.Address);
                var sessions = new V1.Sessions.SessionsClient(channel);
                V1.Session session = await sessions.StartSessionAsync(new V1.StartSessionRequest { PatientCode = patient, MontagePreset = "default" });
                Assert.Equal(Timestamp.FromDateTimeOffset(a.SavedAt), session.StoredCalibrationSavedAt);

                // Calibrate until an accepted step begins a save of calibration B (the service holds it, with the hook,
                // between writing the temporary file and renaming it); then kill the service right there.
                using var stop = new CancellationTokenSource();
                string[] inProgress = await CalibrateUntilASaveBeginsAsync(sessions, store, patient, stop.Token);
                Assert.NotEmpty(inProgress);
                Assert.True(aBytes.AsSpan().SequenceEqual(File.ReadAllBytes(storedFile)),
                    $"The save was renamed over the stored calibration before the kill: CalibrationStore.Save has no {DelayVariable} hook (see this class's remarks).");
                await server.KillHardAsync();
                Assert.True(server.Process.HasExited);
                stop.Cancel();
            }

            // The store on disk: A, byte for byte; the cut-off save's temporary file is never read as a calibration.
            Assert.Equal(aBytes, File.ReadAllBytes(storedFile));
            Assert.Equal([patient + ".json"], Directory.GetFiles(Path.Combine(store.Folder, ClinicalServer.Station), "*.json").Select(Path.GetFileName));

            await using (ClinicalServer restarted = ClinicalServer.Start(folder))
            {
                using GrpcChannel channel = GrpcChannel.ForAddress(restarted.Address);
                var sessions = new V1.Sessions.SessionsClient(channel);
                V1.StoredCalibration offered = await sessions.GetStoredCalibrationAsync(new V1.GetStoredCalibrationRequest { PatientCode = patient });
                AssertSame(a, offered);
                V1.Session session = await sessions.StartSessionAsync(new V1.StartSessionRequest { PatientCode = patient, MontagePreset = "default" });
                Assert.Equal(Timestamp.FromDateTimeOffset(a.SavedAt), session.StoredCalibrationSavedAt);
                await Eventually.TrueAsync(() => TryReuse(sessions) is not null, TimeSpan.FromSeconds(10), "ReuseCalibration once the session has signal");
                AssertSame(a, TryReuse(sessions)!);
                await sessions.StopSessionAsync(new V1.StopSessionRequest());
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task A_calibration_saved_before_a_kill_is_the_one_offered_after_the_restart()
    {
        string folder = Directory.CreateTempSubdirectory("emg-calibration-saved-").FullName;
        try
        {
            const string patient = "P-SAVED-01";
            var store = new CalibrationStore(folder);
            store.Save(ClinicalServer.Station, patient, ClinicalServer.Calibration(6.25, 150.5, new DateTimeOffset(2026, 10, 1, 8, 0, 0, TimeSpan.Zero), Labels));
            StoredCalibration a = store.Load(ClinicalServer.Station, patient)!;

            StoredCalibration b;
            await using (ClinicalServer server = ClinicalServer.Start(folder))
            {
                using GrpcChannel channel = GrpcChannel.ForAddress(server.Address);
                var sessions = new V1.Sessions.SessionsClient(channel);
                await sessions.StartSessionAsync(new V1.StartSessionRequest { PatientCode = patient, MontagePreset = "default" });

                // Calibrate until an accepted step has saved B (the save precedes the step's answer); then kill the service.
                DateTime deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
                while (store.Load(ClinicalServer.Station, patient)!.SavedAt == a.SavedAt)
                {
                    Assert.True(DateTime.UtcNow < deadline, "No calibration step was accepted (and saved) within 2 minutes on the simulated board.");
                    await CalibrateRoundAsync(sessions, () => store.Load(ClinicalServer.Station, patient)!.SavedAt != a.SavedAt, CancellationToken.None);
                }
                b = store.Load(ClinicalServer.Station, patient)!;
                await server.KillHardAsync();
            }
            Assert.True(b.SavedAt > a.SavedAt);
            Assert.Empty(ClinicalServer.SavesInProgress(store, patient));

            await using (ClinicalServer restarted = ClinicalServer.Start(folder))
            {
                using GrpcChannel channel = GrpcChannel.ForAddress(restarted.Address);
                var sessions = new V1.Sessions.SessionsClient(channel);
                AssertSame(b, await sessions.GetStoredCalibrationAsync(new V1.GetStoredCalibrationRequest { PatientCode = patient }));
                V1.Session session = await sessions.StartSessionAsync(new V1.StartSessionRequest { PatientCode = patient, MontagePreset = "default" });
                Assert.Equal(Timestamp.FromDateTimeOffset(b.SavedAt), session.StoredCalibrationSavedAt);
                await sessions.StopSessionAsync(new V1.StopSessionRequest());
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>
    /// Rounds of REST then MVC per muscle until a save's temporary file appears; returns its paths. A step that answers
    /// while no save was seen was refused (or saved without the hook's delay: then the test fails saying so).
    /// </summary>
    private static async Task<string[]> CalibrateUntilASaveBeginsAsync(V1.Sessions.SessionsClient sessions, CalibrationStore store, string patient, CancellationToken cancel)
    {
        StoredCalibration before = store.Load(ClinicalServer.Station, patient)!;
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (DateTime.UtcNow < deadline)
        {
            if (await CalibrateRoundAsync(sessions, () => ClinicalServer.SavesInProgress(store, patient).Length > 0, cancel))
            {
                return ClinicalServer.SavesInProgress(store, patient);
            }
            Assert.True(store.Load(ClinicalServer.Station, patient)!.SavedAt == before.SavedAt,
                $"A calibration save completed without pausing: CalibrationStore.Save has no {DelayVariable} hook (see this class's remarks).");
        }
        throw new TimeoutException("No calibration step was accepted (and saved) within 2 minutes on the simulated board.");
    }

    /// <summary>
    /// One round: REST, then MVC of each muscle; each step's call runs until it answers or <paramref name="saved"/> holds.
    /// True as soon as <paramref name="saved"/> holds (the step's call is left running: the service is about to be killed).
    /// </summary>
    private static async Task<bool> CalibrateRoundAsync(V1.Sessions.SessionsClient sessions, Func<bool> saved, CancellationToken cancel)
    {
        var steps = new List<V1.CalibrateRequest> { new() { Step = V1.CalibrationStep.Rest } };
        steps.AddRange(Labels.Select(l => new V1.CalibrateRequest { Step = V1.CalibrationStep.Mvc, Label = l }));
        foreach (V1.CalibrateRequest step in steps)
        {
            Task<V1.CalibrationResult> call = CalibrateWhenSignalAsync(sessions, step, cancel);
            while (!call.IsCompleted)
            {
                if (saved())
                {
                    _ = call.ContinueWith(t => t.Exception, TaskScheduler.Default); // observed: it fails when the service dies
                    return true;
                }
                await Task.Delay(5);
            }
            V1.CalibrationResult result = await call;
            if (saved())
            {
                Assert.True(result.Accepted, $"a refused {step.Step} step saved a calibration");
                return true;
            }
            if (step.Step == V1.CalibrationStep.Rest && !result.Accepted)
            {
                return false; // the MVC steps need an accepted rest; next round
            }
        }
        return false;
    }

    /// <summary>Calibrate; the session's clinical layer starts with its first samples, so the first call may come too early.</summary>
    private static async Task<V1.CalibrationResult> CalibrateWhenSignalAsync(V1.Sessions.SessionsClient sessions, V1.CalibrateRequest request, CancellationToken cancel)
    {
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            try
            {
                return await sessions.CalibrateAsync(request, cancellationToken: cancel);
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.FailedPrecondition && e.Status.Detail.Contains("no signal yet", StringComparison.Ordinal) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100, cancel);
            }
        }
    }

    private static V1.StoredCalibration? TryReuse(V1.Sessions.SessionsClient sessions)
    {
        try
        {
            return sessions.ReuseCalibration(new V1.ReuseCalibrationRequest());
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.FailedPrecondition && e.Status.Detail.Contains("no signal yet", StringComparison.Ordinal))
        {
            return null;
        }
    }

    private static void AssertSame(StoredCalibration expected, V1.StoredCalibration actual)
    {
        Assert.Equal(expected.PatientCode, actual.PatientCode);
        Assert.Equal(Timestamp.FromDateTimeOffset(expected.SavedAt), actual.SavedAt);
        Assert.Equal(expected.Muscles.Keys.Order(StringComparer.Ordinal), actual.Muscles.Select(m => m.Label).Order(StringComparer.Ordinal));
        foreach (V1.MuscleCalibration m in actual.Muscles)
        {
            MuscleCalibration e = expected.Muscles[m.Label];
            Assert.Equal((e.RestMicrovolts, e.MvcMicrovolts, e.Method), (m.RestUv, m.MvcUv, m.Method));
            Assert.Equal(Timestamp.FromDateTimeOffset(e.CalibratedAt), m.CalibratedAt);
        }
    }
}
