using System.Net;
using System.Net.Sockets;

namespace EmgBiofeedback.TestSupport;

/// <summary>Free TCP ports on 127.0.0.1 for the servers the tests start (the OS picks; the probe is released).</summary>
public static class FreePorts
{
    public static int Next()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
