using EmgBiofeedback.Acquisition.Tests;
using EmgBiofeedback.Contracts.V1;
using Grpc.Core;
using Grpc.Net.Client;
using Acquisition = EmgBiofeedback.Acquisition;

namespace EmgBiofeedback.Server.Tests;

/// <summary>The source kind comes from the link the service reads, not from what the board calls itself.</summary>
public class SourceKindTests
{
    [Fact]
    public async Task A_board_on_a_serial_port_is_a_serial_board_even_when_it_calls_itself_simulated()
    {
        // The simulated board's firmware model on a real pty: it says HELLO as "simulated", but the service
        // reads a serial port, which is where a patient's board is.
        await using SocatPtyPair pty = await SocatPtyPair.StartAsync();
        var simulator = new Acquisition.SimulatorOptions { Channels = 2, SampleRateHz = 1000 };
        var board = new Acquisition.SimulatedBoardPort(new Acquisition.SimulatedBoardDriver(new Acquisition.SimulatedBoard(simulator, 200), TimeProvider.System), pty.BoardEnd, TimeProvider.System);
        using var stopBoard = new CancellationTokenSource();
        Task boardRun = board.RunAsync(stopBoard.Token);
        try
        {
            await using ServerProcess server = ServerProcess.StartListening($"--Acquisition:Serial:PortName={pty.HostEnd}", "--Acquisition:StatusInterval=00:00:01");
            using GrpcChannel channel = GrpcChannel.ForAddress(server.Address);
            var live = new Live.LiveClient(channel);
            using AsyncServerStreamingCall<ActivationFrame> call = live.StreamActivation(new StreamActivationRequest());

            Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
            Assert.Equal(SourceKind.SerialBoard, call.ResponseStream.Current.SourceKind);
            Assert.Equal(SourceKind.SerialBoard, (await live.GetStatusAsync(new GetStatusRequest())).SourceKind);
            server.WaitForLine(l => l.Contains($"ok | serial board | serial {pty.HostEnd}", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "a status line naming the source");
        }
        finally
        {
            await stopBoard.CancelAsync();
            try
            {
                await boardRun;
            }
            catch (OperationCanceledException)
            {
                // the board stops with its cancellation
            }
        }
    }
}
