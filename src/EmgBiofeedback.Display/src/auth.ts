// Access tokens in the browser pages. With authentication on (Api:RequireAuthentication, or a station reachable from
// other machines) every call needs "Authorization: Bearer <token>". The page asks for the token the first time a call
// is refused, keeps it in sessionStorage (this tab, until it is closed: never localStorage, never the URL, never the
// console), and every call then carries it. A call refused for want of a token waits here for the form and is retried
// as soon as a token is entered, so the pages' streams and polls restart at once without knowing about tokens.
// With authentication off no call is ever refused and nothing here shows.
import type { DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, type Interceptor, type StreamRequest, type UnaryRequest } from "@connectrpc/connect";
import "./auth.css";

const STORAGE_KEY = "emg.accessToken";

function stored(): string | null {
  try { return sessionStorage.getItem(STORAGE_KEY); } catch { return null; }
}
function store(value: string | null): void {
  try {
    if (value === null) sessionStorage.removeItem(STORAGE_KEY); else sessionStorage.setItem(STORAGE_KEY, value);
  } catch { /* storage refused (private mode): the token lives in memory for this page only */ }
}

/** The token calls carry; null before one was entered (or after the service refused it). */
let token: string | null = stored();
/** Set while the form is open: resolves when a token has been entered. */
let waiting: Promise<void> | null = null;

/** True when this page sends a token (authentication is in use). */
export function hasToken(): boolean {
  return token !== null;
}

/** The request header for fetches outside gRPC (the report); empty without a token. */
export function authHeaders(): Record<string, string> {
  return token === null ? {} : { Authorization: `Bearer ${token}` };
}

// ---- the form: a modal <dialog>, label "Access token", a password input, Submit ----
let dialog: HTMLDialogElement | null = null;
let onToken: ((value: string) => void) | null = null;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, text?: string): HTMLElementTagNameMap[K] {
  const e = Object.assign(document.createElement(tag), props);
  if (text !== undefined) e.textContent = text;
  return e;
}

function form(): HTMLDialogElement {
  if (dialog) return dialog;
  const d = el("dialog", { id: "auth-dialog", className: "auth-dialog" });
  d.setAttribute("aria-labelledby", "auth-title");
  d.setAttribute("aria-describedby", "auth-why");
  // method="dialog": even without this script's handler a submission never navigates, so the token can never end up in a URL.
  const f = el("form", { id: "auth-form", method: "dialog" });
  const title = el("h2", { id: "auth-title" }, "Access token needed");
  const why = el("p", { id: "auth-why" }, "This station asks for an access token. It is kept in this browser tab until the tab is closed.");
  const message = el("p", { id: "auth-message", className: "auth-message" });
  message.setAttribute("role", "alert");
  const label = el("label", { htmlFor: "auth-token" }, "Access token");
  // No name attribute: the value is never part of any form data.
  const input = el("input", { id: "auth-token", type: "password", autocomplete: "off", spellcheck: false, required: true });
  input.setAttribute("autocapitalize", "off");
  input.setAttribute("aria-describedby", "auth-message");
  const submit = el("button", { type: "submit" }, "Submit");
  const row = el("div", { className: "auth-row" });
  row.append(input, submit);
  f.append(title, why, message, label, row);
  d.append(f);
  f.addEventListener("submit", (e) => {
    e.preventDefault();
    const value = input.value.trim();
    if (!value) { input.focus(); return; }
    input.value = "";
    const done = onToken;
    onToken = null;
    d.close();
    done?.(value);
  });
  // The page cannot work without a token: Escape does not dismiss the form, and if the browser closes it anyway it comes back.
  d.addEventListener("cancel", (e) => e.preventDefault());
  d.addEventListener("close", () => { if (onToken) d.showModal(); });
  document.body.append(d);
  dialog = d;
  return d;
}

/** Shows the form (with a message, e.g. the last token was refused) until a token is entered. */
function ask(message: string): Promise<string> {
  const d = form();
  const input = d.querySelector<HTMLInputElement>("#auth-token")!;
  d.querySelector("#auth-message")!.textContent = message;
  input.setAttribute("aria-invalid", message ? "true" : "false");
  return new Promise((resolve) => {
    onToken = resolve;
    if (!d.open) d.showModal();
    input.focus();
  });
}

/** The service refused `used` (null: no token sent): ask once for all waiting calls, then let them retry. */
function tokenNeeded(used: string | null, refused: string): Promise<void> {
  if (token !== null && token !== used) return Promise.resolve(); // a newer token was entered meanwhile: retry with it
  if (!waiting) {
    token = null;
    store(null);
    waiting = ask(used === null ? "" : refused).then((value) => {
      token = value;
      store(value);
      waiting = null;
    });
  }
  return waiting;
}

function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    const stop = () => reject(new ConnectError("the call was cancelled", Code.Canceled));
    if (signal.aborted) stop(); else signal.addEventListener("abort", stop, { once: true });
  });
}

// ---- the clinician page with a viewer token ----
interface Guard { control: Set<string>; state: "checking" | "clinician" | "viewer-only" }
let guard: Guard | null = null;
/** Aborts every call of the page when it turns out to hold a viewer token. */
const stopAll = new AbortController();

/**
 * For the clinician view: calls to these services (session control) need a clinician token. The controls stay
 * hidden until the first such call has answered; a viewer token's PermissionDenied replaces the page by
 * "This token can see the patient view only" and ends every call of the page.
 */
export function clinicianOnly(...controlServices: DescService[]): void {
  guard = { control: new Set(controlServices.map((s) => s.typeName)), state: "checking" };
  document.body.dataset.auth = "checking";
}

function decided(): void {
  if (guard?.state !== "checking") return;
  guard.state = "clinician";
  document.body.dataset.auth = "clinician";
}

function viewerOnly(): void {
  if (!guard || guard.state === "viewer-only") return;
  guard.state = "viewer-only";
  document.body.dataset.auth = "viewer-only";
  stopAll.abort();
  const main = document.querySelector("main");
  if (main) { main.hidden = true; main.inert = true; }
  const notice = el("section", { id: "auth-viewer-only", className: "auth-notice" });
  notice.setAttribute("aria-labelledby", "auth-viewer-only-title");
  // Focus moves to the heading, so a screen reader says what replaced the page.
  const title = el("h2", { id: "auth-viewer-only-title", tabIndex: -1 }, "This token can see the patient view only");
  const p = el("p", {}, "The clinician view needs a clinician token. ");
  p.append(el("a", { href: "/" }, "Open the patient view"));
  const other = el("button", { type: "button", id: "auth-other-token" }, "Use another token");
  other.addEventListener("click", async () => {
    const value = await ask("");
    store(value);
    location.reload();
  });
  notice.append(title, p, other);
  if (main) main.before(notice); else document.body.append(notice);
  title.focus();
}

// ---- the interceptor: every call of the page's one transport goes through it ----
async function* once<T>(message: T): AsyncIterable<T> {
  yield message;
}

export const authInterceptor: Interceptor = (next) => async (req) => {
  const control = guard?.control.has(req.service.typeName) ?? false;
  if (guard?.state === "viewer-only") return untilAborted(req.signal); // nothing works on this page any more
  const signal = guard ? AbortSignal.any([req.signal, stopAll.signal]) : req.signal;
  // A server stream's request is a one-shot iterable: keep its message so the call can be made again.
  const first = req.stream ? (await req.message[Symbol.asyncIterator]().next()).value : undefined;
  for (;;) {
    const used = token;
    if (used === null) req.header.delete("Authorization"); else req.header.set("Authorization", `Bearer ${used}`);
    const attempt = req.stream
      ? { ...req, signal, message: once(first) } as StreamRequest
      : { ...req, signal } as UnaryRequest;
    try {
      const res = await next(attempt);
      if (control) decided();
      return res;
    } catch (e) {
      const err = ConnectError.from(e);
      if (err.code === Code.Unauthenticated) {
        await Promise.race([tokenNeeded(used, "That token was not accepted. Enter the access token again."), untilAborted(req.signal)]);
        continue;
      }
      if (err.code === Code.PermissionDenied) {
        if (guard && control) {
          viewerOnly();
          return untilAborted(req.signal);
        }
        if (!guard) {
          // The patient view needs only a viewer token, so this is a token for something else: ask for another.
          await Promise.race([tokenNeeded(used, "That token may not use this page. Enter another access token."), untilAborted(req.signal)]);
          continue;
        }
      }
      if (control) decided();
      throw e;
    }
  }
};

// ---- links to endpoints that need the token (the session report) ----
let shownReport: string | null = null;

/**
 * A link to a GET endpoint of the service (the report): without a token it is a plain link; with one, a click fetches
 * the document with the Authorization header (a link cannot carry it) and opens it from a blob: URL.
 */
export function linkWithToken(link: HTMLAnchorElement, errorEl: HTMLElement): void {
  link.addEventListener("click", async (e) => {
    if (token === null) return;
    e.preventDefault();
    errorEl.textContent = "";
    try {
      const res = await fetch(link.href, { headers: authHeaders(), cache: "no-store" });
      if (!res.ok) {
        const why = res.status === 401 ? "the access token was not accepted" : res.status === 403 ? "this token may not open it" : (await res.text()) || res.statusText;
        throw new Error(`HTTP ${res.status}: ${why}`);
      }
      const blob = new Blob([await res.arrayBuffer()], { type: res.headers.get("content-type") ?? "text/html" });
      if (shownReport) URL.revokeObjectURL(shownReport);
      shownReport = URL.createObjectURL(blob);
      window.open(shownReport, "_blank", "noopener");
    } catch (err) {
      errorEl.textContent = `The report could not be opened: ${err instanceof Error ? err.message : String(err)}`;
    }
  });
}
