// The one gRPC-Web transport of a page (same origin as the page, binary) and how an API error reads in words.
import { Code, ConnectError } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";

export const transport = createGrpcWebTransport({ baseUrl: location.origin, useBinaryFormat: true });

/** "FailedPrecondition: a session is already open" — the gRPC status message, in words. */
export function errorText(e: unknown): string {
  const err = ConnectError.from(e);
  const code = Code[err.code] ?? String(err.code);
  return `${code}: ${err.rawMessage || "no message"}`;
}
