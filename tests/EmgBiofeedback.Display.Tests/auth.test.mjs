// The browser pages with authentication on (Api:RequireAuthentication=true, one viewer and one clinician token), against
// the real service with the simulated board: the pages load without a token and ask for one (an accessible form, a
// password field); a wrong token is refused in words; the viewer token shows live bars; the token is kept for the tab
// (sessionStorage: a reload does not ask, a new browser does) and never appears in a URL, the service's log or the
// browser's console; the clinician view with the viewer token says "patient view only" and does nothing else; with the
// clinician token it works, including the report (fetched with the token, shown from a blob: URL under the page's CSP).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { freePort, launchChromium, loadApi, outputDir, startServer, stopServer, tempFolder } from "./lib/harness.mjs";

const require = createRequire(import.meta.url);
const token = (role) => `${role}-${randomBytes(16).toString("hex")}`;
const VIEWER = token("viewer");
const CLINICIAN = token("clinician");
const WRONG = token("wrong");
const TOKENS = { VIEWER, CLINICIAN, WRONG };
const PATIENT = "P-auth-1";

let browserPort, base, folder, server, api, chromium;
/** Everything the browsers showed or sent, from every page (popups too): checked for tokens at the end. */
const consoleLines = [];
const urls = [];
const grpcAuth = [];

function watch(context) {
  const attach = (page) => {
    page.on("console", (m) => consoleLines.push(m.text()));
    page.on("pageerror", (e) => { consoleLines.push(`page error: ${e.message}`); console.error("page error:", e.message); });
    page.on("framenavigated", (f) => urls.push(f.url()));
  };
  context.pages().forEach(attach);
  context.on("page", attach);
  context.on("request", async (r) => {
    urls.push(r.url());
    if (/\/emg\.v1\.\w+\/\w+$/.test(r.url())) grpcAuth.push((await r.allHeaders().catch(() => ({}))).authorization ?? null);
  });
}

/** A page in a new browser context (its own sessionStorage and localStorage, as a new browser would have). */
async function open({ bypassCSP }) {
  const context = await chromium.newContext({ bypassCSP, viewport: { width: 1280, height: 900 } });
  watch(context);
  return context.newPage();
}

const client = (service, bearer) => createClient(service, createGrpcWebTransport({
  baseUrl: base, useBinaryFormat: true,
  interceptors: bearer ? [(next) => (req) => { req.header.set("Authorization", `Bearer ${bearer}`); return next(req); }] : [],
}));
const codeOf = (p) => p.then(() => "OK", (e) => Code[ConnectError.from(e).code]);

/** The token form is open: a modal dialog with a labelled password field and a Submit button. */
async function waitForForm(page, timeout = 10000) {
  await page.waitForSelector("#auth-dialog[open]", { timeout });
}
async function enterToken(page, value) {
  await page.getByLabel("Access token", { exact: true }).fill(value);
  await page.getByRole("button", { name: "Submit" }).click();
}
const liveBars = (page, n = 8, timeout = 15000) => page.waitForFunction((k) => document.body.dataset.link === "up"
  && document.querySelectorAll('.bar[data-kind="value"]').length === k, n, { timeout });

describe("access tokens in the browser pages", () => {
  before(async () => {
    mkdirSync(outputDir, { recursive: true });
    api = await loadApi();
    const grpcPort = await freePort();
    browserPort = await freePort();
    base = `http://127.0.0.1:${browserPort}`;
    folder = tempFolder("emg-auth-rec-");
    [server, chromium] = await Promise.all([
      startServer({ grpcPort, browserPort, folder, extraArgs: [
        "--Api:RequireAuthentication=true", `--Api:ViewerTokens:0=${VIEWER}`, `--Api:ClinicianTokens:0=${CLINICIAN}`] }),
      launchChromium()]);
  });

  after(async () => {
    await chromium?.close().catch(() => undefined);
    await stopServer(server);
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  it("(a) the pages and their assets load without a token; every call and the report need one, by role", async () => {
    for (const path of ["/", "/clinician"]) {
      const res = await fetch(base + path);
      assert.equal(res.status, 200, path);
      const html = await res.text();
      const assets = [...html.matchAll(/(?:src|href)="\.?\/?(assets\/[^"]+)"/g)].map((m) => m[1]);
      assert.ok(assets.length >= 2, `${path} names its script and style: ${assets}`);
      for (const a of assets) assert.equal((await fetch(`${base}/${a}`)).status, 200, a);
    }
    assert.equal(await codeOf(client(api.live.Live).getStatus({})), "Unauthenticated");
    assert.equal(await codeOf(client(api.live.Live, WRONG).getStatus({})), "Unauthenticated");
    assert.equal(await codeOf(client(api.live.Live, VIEWER).getStatus({})), "OK");
    assert.equal(await codeOf(client(api.sessions.Sessions, VIEWER).listProtocols({})), "PermissionDenied");
    assert.equal(await codeOf(client(api.sessions.Sessions, CLINICIAN).listProtocols({})), "OK");
    // The report endpoint reads the same header: refused without it, authorised (no such session: 404) with it.
    assert.equal((await fetch(`${base}/sessions/no-such-session/report`)).status, 401);
    assert.equal((await fetch(`${base}/sessions/no-such-session/report`, { headers: { Authorization: `Bearer ${WRONG}` } })).status, 401);
    assert.equal((await fetch(`${base}/sessions/no-such-session/report`, { headers: { Authorization: `Bearer ${VIEWER}` } })).status, 404);
  });

  let page;
  it("(b) the patient view asks for the token, refuses a wrong one in words, and shows live bars with the viewer token", async () => {
    page = await open({ bypassCSP: true }); // axe-core is injected below
    await page.goto(`${base}/`);
    await waitForForm(page);
    const form = await page.$eval("#auth-dialog", (d) => {
      const input = d.querySelector("input");
      return { modal: d.matches(":modal"), label: input.labels[0]?.textContent, type: input.type, autocomplete: input.getAttribute("autocomplete"),
        name: input.name, button: d.querySelector("button[type=submit]")?.textContent, focused: document.activeElement === input,
        fontPx: parseFloat(getComputedStyle(input).fontSize) };
    });
    assert.deepEqual({ ...form, fontPx: undefined }, { modal: true, label: "Access token", type: "password", autocomplete: "off", name: "", button: "Submit", focused: true, fontPx: undefined });
    assert.ok(form.fontPx >= 22, `large type on the patient view: ${form.fontPx}px`);
    assert.equal(await page.$$eval('.bar[data-kind="value"]', (b) => b.length), 0, "no data without a token");
    await page.addScriptTag({ content: readFileSync(require.resolve("axe-core/axe.min.js"), "utf8") });
    const violations = await page.evaluate(async () => (await window.axe.run(document.getElementById("auth-dialog"), { resultTypes: ["violations"] })).violations
      .map((v) => ({ id: v.id, impact: v.impact, help: v.help })));
    assert.deepEqual(violations.filter((v) => v.impact === "serious" || v.impact === "critical"), []);
    await page.screenshot({ path: join(outputDir, "auth-a-form.png") });

    await enterToken(page, WRONG);
    await page.waitForFunction(() => /That token was not accepted/.test(document.getElementById("auth-message")?.textContent ?? ""), null, { timeout: 10000 });
    assert.equal(await page.$eval("#auth-dialog", (d) => d.open), true, "asks again");
    assert.equal(await page.getByLabel("Access token", { exact: true }).inputValue(), "", "the refused token is not left in the field");
    await page.screenshot({ path: join(outputDir, "auth-b-refused.png") });

    await enterToken(page, VIEWER);
    await liveBars(page);
    assert.equal(await page.$eval("#auth-dialog", (d) => d.open), false);
    assert.equal(await page.$eval("#link", (e) => e.textContent), "Live");
    const storage = await page.evaluate(() => ({ session: sessionStorage.getItem("emg.accessToken"), local: localStorage.length }));
    assert.deepEqual(storage, { session: VIEWER, local: 0 });
    assert.ok(grpcAuth.includes(`Bearer ${VIEWER}`), "the calls carry the viewer token");
    assert.equal(new URL(page.url()).href, `${base}/`);
  });

  it("(c) a reload in the same tab does not ask again (sessionStorage); a new browser asks again", async () => {
    await page.reload();
    await liveBars(page);
    assert.equal(await page.$("#auth-dialog"), null, "the form was never needed after the reload");

    const fresh = await open({ bypassCSP: false }); // a new context, with the pages' real CSP from here on
    await fresh.goto(`${base}/`);
    await waitForForm(fresh);
    assert.equal(await fresh.evaluate(() => sessionStorage.getItem("emg.accessToken")), null);
    await enterToken(fresh, VIEWER);
    await liveBars(fresh);
    page = fresh;
  });

  it("(d) the clinician view with the viewer token says 'patient view only', offers no control and stops calling", async () => {
    const before = grpcAuth.length;
    await page.goto(`${base}/clinician`);
    await page.waitForSelector("#auth-viewer-only", { timeout: 10000 });
    assert.equal(await page.$eval("#auth-viewer-only h2", (h) => h.textContent), "This token can see the patient view only");
    assert.equal(await page.$eval("#auth-viewer-only a", (a) => a.href), `${base}/`);
    assert.equal(await page.evaluate(() => document.activeElement?.id), "auth-viewer-only-title", "focus on the notice");
    for (const id of ["#session-start", "#session-stop", "#cal-signal", "#target-set", "#protocol-start", "#marker-trick", "#replay-start"]) {
      assert.equal(await page.isVisible(id), false, `${id} is not offered`);
    }
    assert.equal(await page.$eval("main", (m) => m.hidden && m.inert), true);
    assert.equal(await page.$("#auth-dialog"), null, "the tab's token was used, nothing asked");
    assert.ok(grpcAuth.length > before);
    await page.screenshot({ path: join(outputDir, "auth-c-viewer-only.png") });
    // Nothing else works there: the streams are ended and no call is made any more.
    const calls = grpcAuth.length;
    await page.waitForTimeout(2000);
    assert.equal(grpcAuth.length, calls, "no gRPC call after 'patient view only'");
  });

  it("(e) with the clinician token the clinician view works: status, a session started and stopped, the report", async () => {
    await page.click("#auth-other-token");
    await waitForForm(page);
    await enterToken(page, CLINICIAN); // stored for the tab; the page starts afresh with it
    await page.waitForFunction(() => document.body.dataset.auth === "clinician", null, { timeout: 15000 });
    await page.waitForFunction(() => Number(document.getElementById("status").dataset.polls ?? 0) >= 1, null, { timeout: 10000 });
    assert.match(await page.$eval("#status", (e) => e.textContent), /Lost frames \/ gaps\d+ \/ \d+/);
    await page.waitForFunction(() => document.querySelectorAll(".channel").length === 8 && document.body.dataset.link === "up", null, { timeout: 15000 });
    assert.equal(await page.$("#auth-viewer-only"), null);

    await page.fill("#patient", PATIENT);
    await page.selectOption("#montage", "default");
    await page.click("#session-start");
    await page.waitForFunction((p) => document.getElementById("session-state").textContent.startsWith(`Session open: patient ${p}`), PATIENT, { timeout: 10000 });
    await page.waitForTimeout(500);
    await page.click("#session-stop");
    await page.waitForSelector("#summary:not([hidden])", { timeout: 15000 });
    assert.equal(await page.$eval("#session-error", (e) => e.textContent), "");
    const href = await page.$eval("#report-link", (a) => a.href);
    assert.match(href, new RegExp(`^${base}/sessions/[^/]+/report$`));

    const [report] = await Promise.all([page.context().waitForEvent("page"), page.click("#report-link")]);
    await report.waitForLoadState();
    assert.match(report.url(), /^blob:/);
    const shown = await report.evaluate(() => ({ text: document.body.textContent, pageWidthPx: parseFloat(getComputedStyle(document.querySelector(".page")).width) }));
    assert.match(shown.text, new RegExp(PATIENT));
    // The report's own style applies under the clinician page's CSP (on screen its page is 210 mm = 794 px wide).
    assert.ok(Math.abs(shown.pageWidthPx - 793.7) < 2, `report styled: .page is ${shown.pageWidthPx}px wide`);
    assert.equal(await page.$eval("#report-error", (e) => e.textContent), "");
    await report.screenshot({ path: join(outputDir, "auth-d-report.png") });
    await report.close();
    // A plain request for the report is refused; with a token it is served.
    assert.equal((await fetch(href)).status, 401);
    assert.equal((await fetch(href, { headers: { Authorization: `Bearer ${VIEWER}` } })).status, 200);
    assert.deepEqual(consoleLines.filter((l) => /Content Security Policy/i.test(l)), [], "nothing was blocked by the pages' CSP");
  });

  it("(f) no token ever in a URL, the service's log or the browser's console; never in localStorage", async () => {
    assert.ok(urls.length > 20 && consoleLines.length >= 0);
    for (const [name, t] of Object.entries(TOKENS)) {
      assert.deepEqual(urls.filter((u) => u.includes(t)), [], `${name} in a URL`);
      assert.deepEqual(consoleLines.filter((l) => l.includes(t)), [], `${name} in the console`);
      assert.ok(!server.log().includes(t), `${name} in the service's log`);
    }
    assert.equal(await page.evaluate(() => localStorage.length), 0);
    writeFileSync(join(outputDir, "auth-console.txt"), consoleLines.join("\n"));
  });
});
