// The one gRPC-Web transport of a page (same origin as the page, binary) and how an API error reads in words.
// Every call carries the access token when authentication is on (auth.ts asks for it when a call is refused).
import { Code, ConnectError } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { authInterceptor } from "./auth";

export const transport = createGrpcWebTransport({ baseUrl: location.origin, useBinaryFormat: true, interceptors: [authInterceptor] });

/** "FailedPrecondition: a session is already open" — the gRPC status message, in words. */
export function errorText(e: unknown): string {
  const err = ConnectError.from(e);
  const code = Code[err.code] ?? String(err.code);
  return `${code}: ${err.rawMessage || "no message"}`;
}
