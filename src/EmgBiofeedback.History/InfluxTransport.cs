using System.IO.Compression;
using System.Net.Sockets;
using InfluxDB.Client;
using InfluxDB.Client.Api.Domain;
using InfluxDB.Client.Api.Service;
using InfluxDB.Client.Core.Exceptions;

namespace EmgBiofeedback.History;

public enum SendOutcome
{
    Delivered,

    /// <summary>Down, slow, hung, 5xx, 408, 429: try again later (resending is safe, points overwrite).</summary>
    Transient,

    /// <summary>401, 403, 404: configuration (token, org, bucket) is wrong; will not heal by retrying soon.</summary>
    Refused,

    /// <summary>400, 413, 422: this batch itself will never be accepted.</summary>
    Malformed,
}

public readonly record struct SendResult(SendOutcome Outcome, int Status, string Message);

/// <summary>
/// Sends line-protocol batches through InfluxDB.Client's generated <see cref="WriteService"/> (v2 write API,
/// ns precision). The client's convenience WriteApi is not used: it neither takes bytes nor persists anything.
/// </summary>
public sealed class InfluxTransport : IDisposable
{
    private readonly InfluxDBClient _client;
    private readonly WriteService _write;
    private readonly string _org;
    private readonly string _bucket;
    private readonly bool _gzip;
    private readonly MemoryStream _gzipBuffer = new();

    public InfluxTransport(HistoryOptions options)
    {
        _org = options.Org;
        _bucket = options.Bucket;
        _gzip = options.Gzip;
        _client = new InfluxDBClient(new InfluxDBClientOptions(options.Url)
        {
            Token = options.ResolveToken(),
            Org = options.Org,
            Bucket = options.Bucket,
            Timeout = options.RequestTimeout,
        });
        _write = _client.CreateService<WriteService>(typeof(WriteService));
    }

    public async Task<SendResult> SendAsync(LineBuffer batch, CancellationToken cancellationToken)
    {
        // The generated API wants an exact-length array: one copy per batch (not per point).
        byte[] body;
        string? encoding = null;
        if (_gzip)
        {
            _gzipBuffer.SetLength(0);
            using (var gz = new GZipStream(_gzipBuffer, CompressionLevel.Fastest, leaveOpen: true))
            {
                gz.Write(batch.Written);
            }
            body = _gzipBuffer.ToArray();
            encoding = "gzip";
        }
        else
        {
            body = batch.Written.ToArray();
        }
        try
        {
            await _write.PostWriteAsync(_org, _bucket, body, contentEncoding: encoding, contentType: "text/plain; charset=utf-8",
                precision: WritePrecision.Ns, cancellationToken: cancellationToken).ConfigureAwait(false);
            return new SendResult(SendOutcome.Delivered, 204, "");
        }
        catch (Exception e) when (cancellationToken.IsCancellationRequested && e is not OperationCanceledException)
        {
            // The client wraps a cancelled request in its own HttpException: a stop, not a failure of the server.
            throw new OperationCanceledException("History send cancelled.", e, cancellationToken);
        }
        catch (HttpException e) when (e.Status != 0)
        {
            SendOutcome outcome = e.Status switch
            {
                401 or 403 or 404 => SendOutcome.Refused,
                400 or 413 or 422 => SendOutcome.Malformed,
                _ => SendOutcome.Transient,
            };
            return new SendResult(outcome, e.Status, e.Message);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested &&
            e is HttpRequestException or OperationCanceledException or SocketException or IOException or InfluxException)
        {
            // Connection refused, reset, DNS, or the client's own timeout (a hung server): the outcome is unknown,
            // so the batch is resent; the same series and timestamp overwrite, so a duplicate cannot arise.
            return new SendResult(SendOutcome.Transient, 0, e is OperationCanceledException ? "request timed out" : e.Message);
        }
    }

    public void Dispose()
    {
        _client.Dispose();
        _gzipBuffer.Dispose();
    }
}
