using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using EmgBiofeedback.Contracts.V1;
using Google.Protobuf;

namespace EmgBiofeedback.EndToEnd.Tests;

/// <summary>One malformed or oversized request and what the service answered.</summary>
public sealed record MalformedOutcome(string Case, string Expected, string Observed, bool AsExpected);

/// <summary>
/// Malformed and oversized requests, sent below the gRPC client libraries (raw HTTP/2 frames through HttpClient, raw TCP)
/// so that nothing polishes them first: bodies that are not protobuf, length prefixes that lie, messages over the 4 MiB
/// limit, compression flags without an encoding, unknown methods, wrong content types, fields out of range, huge strings,
/// garbage and HTTP/1.1 on the HTTP/2 port, garbage gRPC-Web on the browser port. Each must end, promptly, in an error
/// status (the one named where the outcome is defined) and leave the service serving.
/// </summary>
public static class MalformedRequests
{
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(10);

    public static async Task<List<MalformedOutcome>> RunAsync(string grpcUrl, string browserUrl)
    {
        using var handler = new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(5) };
        using var http = new HttpClient(handler) { Timeout = Budget };
        var random = new Random(18);
        byte[] Garbage(int n)
        {
            byte[] b = new byte[n];
            random.NextBytes(b);
            return b;
        }
        byte[] Framed(byte[] message, byte flag = 0, uint? claimedLength = null)
        {
            byte[] body = new byte[5 + message.Length];
            body[0] = flag;
            BinaryPrimitives.WriteUInt32BigEndian(body.AsSpan(1), claimedLength ?? (uint)message.Length);
            message.CopyTo(body, 5);
            return body;
        }
        var results = new List<MalformedOutcome>();
        async Task Grpc(string name, string path, byte[] body, string expected, string contentType = "application/grpc")
        {
            results.Add(await SendAsync(http, grpcUrl, name, path, body, expected, contentType, HttpVersion.Version20));
        }

        await Grpc("body that is not protobuf", "/emg.v1.Live/StreamActivation", Framed(Enumerable.Repeat((byte)0xFF, 64).ToArray()), ParseError);
        await Grpc("length prefix of 4 GiB on a 10-byte body", "/emg.v1.Live/GetStatus", Framed(Garbage(10), claimedLength: uint.MaxValue), ParseError);
        await Grpc("length prefix longer than the body", "/emg.v1.Live/GetStatus", Framed(Garbage(10), claimedLength: 100), "Internal");
        await Grpc("message of 5 MiB (limit 4 MiB)", "/emg.v1.Sessions/AddMarker",
            Framed(new AddMarkerRequest { Label = new string('x', 5 << 20) }.ToByteArray()), "ResourceExhausted");
        await Grpc("compressed flag without grpc-encoding", "/emg.v1.Live/GetStatus", Framed(new GetStatusRequest().ToByteArray(), flag: 1), "Internal");
        await Grpc("unknown method", "/emg.v1.Live/NoSuchMethod", Framed([]), "Unimplemented");
        await Grpc("unknown service", "/emg.v9.Nothing/Call", Framed([]), "Unimplemented");
        await Grpc("rate_hz 7 (does not divide 50 Hz)", "/emg.v1.Live/StreamActivation", Framed(new StreamActivationRequest { RateHz = 7 }.ToByteArray()), "InvalidArgument");
        await Grpc("channel 99", "/emg.v1.Live/StreamActivation", Framed(new StreamActivationRequest { Channels = { 99 } }.ToByteArray()), "InvalidArgument");
        await Grpc("patient code of 1 MiB", "/emg.v1.Sessions/GetStoredCalibration",
            Framed(new GetStoredCalibrationRequest { PatientCode = new string('P', 1 << 20) }.ToByteArray()), "InvalidArgument");
        await Grpc("marker label of 100 KiB", "/emg.v1.Sessions/AddMarker", Framed(new AddMarkerRequest { Label = new string('m', 100 << 10) }.ToByteArray()), "InvalidArgument");
        await Grpc("replay file outside the folder", "/emg.v1.Replays/StartReplay", Framed(new StartReplayRequest { File = "../../../../etc/passwd" }.ToByteArray()), "InvalidArgument");
        await Grpc("two messages on a unary call", "/emg.v1.Live/GetStatus", [.. Framed([]), .. Framed([])], "Internal");
        await Grpc("1000 messages of garbage on a server-streaming call", "/emg.v1.Live/StreamEvents",
            Enumerable.Range(0, 1000).SelectMany(_ => Framed(Garbage(100))).ToArray(), ParseError);
        results.Add(await SendAsync(http, grpcUrl, "content type application/json", "/emg.v1.Live/GetStatus", Encoding.UTF8.GetBytes("{}"), "HTTP 415", "application/json", HttpVersion.Version20));
        results.Add(await HeaderFloodAsync(http, grpcUrl));
        results.Add(await RawTcpAsync(grpcUrl, "64 KiB of random bytes on the HTTP/2 port", Garbage(64 << 10)));
        results.Add(await RawTcpAsync(grpcUrl, "HTTP/1.1 request on the HTTP/2 port", Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n")));
        results.Add(await RawTcpAsync(grpcUrl, "HTTP/2 preface then random frames", [.. "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray(), .. Garbage(16 << 10)]));
        results.Add(await SendAsync(http, browserUrl, "gRPC-Web body that is not protobuf", "/emg.v1.Live/GetStatus", Framed(Garbage(64)), ParseError,
            "application/grpc-web+proto", HttpVersion.Version11));
        results.Add(await SendAsync(http, browserUrl, "gRPC-Web message of 5 MiB", "/emg.v1.Sessions/AddMarker",
            Framed(new AddMarkerRequest { Label = new string('x', 5 << 20) }.ToByteArray()), "ResourceExhausted", "application/grpc-web+proto", HttpVersion.Version11));
        results.Add(await RawTcpAsync(browserUrl, "64 KiB of random bytes on the browser port", Garbage(64 << 10)));
        return results;
    }

    private static async Task<MalformedOutcome> SendAsync(HttpClient http, string baseUrl, string name, string path, byte[] body, string expected, string contentType, Version version)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, baseUrl + path)
        {
            Version = version,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        request.Headers.TryAddWithoutValidation("te", "trailers");
        string observed;
        try
        {
            using var cts = new CancellationTokenSource(Budget);
            using HttpResponseMessage response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
            // A stream may go on (a streaming call that was accepted): read a little, then stop.
            byte[] payload = await ReadSomeAsync(await response.Content.ReadAsStreamAsync(cts.Token), 1 << 16, cts.Token);
            string? status = Header(response.Headers, "grpc-status") ?? Header(response.TrailingHeaders, "grpc-status") ?? GrpcWebTrailer(payload);
            observed = response.StatusCode != HttpStatusCode.OK ? $"HTTP {(int)response.StatusCode}"
                : status is null ? "no grpc-status (stream still open)"
                : ((Grpc.Core.StatusCode)int.Parse(status, System.Globalization.CultureInfo.InvariantCulture)).ToString();
        }
        catch (OperationCanceledException)
        {
            observed = $"no answer within {Budget.TotalSeconds:0} s";
        }
        catch (HttpRequestException e)
        {
            observed = $"connection error: {e.Message}";
        }
        // gRPC's status codes say INTERNAL for "error parsing request proto"; grpc-dotnet answers UNKNOWN when the
        // deserializer throws (before any service code or interceptor runs). Either is an error status, promptly.
        bool ok = observed == expected || (expected == ParseError && observed is "Internal" or "Unknown");
        return new MalformedOutcome(name, expected, observed, ok);
    }

    /// <summary>What a request whose message cannot be parsed gets: an error status (INTERNAL by gRPC's table).</summary>
    public const string ParseError = "Internal (gRPC) or Unknown (grpc-dotnet)";

    private static async Task<byte[]> ReadSomeAsync(Stream stream, int max, CancellationToken ct)
    {
        var buffer = new MemoryStream();
        byte[] chunk = new byte[8192];
        using var quick = CancellationTokenSource.CreateLinkedTokenSource(ct);
        quick.CancelAfter(TimeSpan.FromSeconds(3));
        try
        {
            int n;
            while (buffer.Length < max && (n = await stream.ReadAsync(chunk, quick.Token)) > 0)
            {
                buffer.Write(chunk, 0, n);
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            // still streaming: what came is enough
        }
        return buffer.ToArray();
    }

    private static string? Header(HttpHeaders headers, string name) =>
        headers.TryGetValues(name, out IEnumerable<string>? values) ? values.FirstOrDefault() : null;

    /// <summary>gRPC-Web puts the trailers in the body, in a frame whose flag has bit 7 set.</summary>
    private static string? GrpcWebTrailer(byte[] body)
    {
        int at = 0;
        while (at + 5 <= body.Length)
        {
            byte flag = body[at];
            int length = (int)BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(at + 1));
            if (at + 5 + length > body.Length)
            {
                return null;
            }
            if ((flag & 0x80) != 0)
            {
                foreach (string line in Encoding.ASCII.GetString(body, at + 5, length).Split("\r\n"))
                {
                    if (line.StartsWith("grpc-status:", StringComparison.OrdinalIgnoreCase))
                    {
                        return line["grpc-status:".Length..].Trim();
                    }
                }
            }
            at += 5 + length;
        }
        return null;
    }

    private static async Task<MalformedOutcome> HeaderFloodAsync(HttpClient http, string grpcUrl)
    {
        const string name = "a 256 KiB request header";
        using var request = new HttpRequestMessage(HttpMethod.Post, grpcUrl + "/emg.v1.Live/GetStatus")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(new byte[5]),
        };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse("application/grpc");
        request.Headers.TryAddWithoutValidation("x-flood", new string('h', 256 << 10));
        string observed;
        try
        {
            using var cts = new CancellationTokenSource(Budget);
            using HttpResponseMessage response = await http.SendAsync(request, cts.Token);
            observed = response.StatusCode == HttpStatusCode.OK ? "accepted" : $"HTTP {(int)response.StatusCode}";
        }
        catch (OperationCanceledException)
        {
            observed = $"no answer within {Budget.TotalSeconds:0} s";
        }
        catch (HttpRequestException)
        {
            observed = "refused (connection reset)";
        }
        bool ok = observed is "HTTP 431" or "refused (connection reset)";
        return new MalformedOutcome(name, "HTTP 431 or connection reset", observed, ok);
    }

    /// <summary>Bytes straight onto a TCP connection: the service must close it (or answer an error) and go on.</summary>
    private static async Task<MalformedOutcome> RawTcpAsync(string url, string name, byte[] bytes)
    {
        var uri = new Uri(url);
        using var client = new TcpClient();
        string observed;
        try
        {
            using var cts = new CancellationTokenSource(Budget);
            await client.ConnectAsync(uri.Host, uri.Port, cts.Token);
            NetworkStream stream = client.GetStream();
            try
            {
                await stream.WriteAsync(bytes, cts.Token);
            }
            catch (IOException)
            {
                // the service closed the connection while we were still writing: that is an answer
            }
            byte[] buffer = new byte[4096];
            long answered = 0;
            int n;
            try
            {
                while ((n = await stream.ReadAsync(buffer, cts.Token)) > 0)
                {
                    answered += n;
                }
                observed = "connection closed";
            }
            catch (IOException)
            {
                observed = "connection closed";
            }
        }
        catch (OperationCanceledException)
        {
            observed = $"connection left open after {Budget.TotalSeconds:0} s";
        }
        catch (SocketException e)
        {
            observed = $"connect failed: {e.SocketErrorCode}";
        }
        return new MalformedOutcome(name, "connection closed", observed, observed == "connection closed");
    }
}
