namespace EmgBiofeedback.Server.Tests;

/// <summary>One real service process on a free loopback port, shared by a test class.</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    public ServerProcess Server { get; private set; } = null!;

    public Task InitializeAsync()
    {
        Server = ServerProcess.StartListening();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await Server.DisposeAsync();
}
