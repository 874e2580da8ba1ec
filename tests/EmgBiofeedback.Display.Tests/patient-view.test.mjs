// The patient view (/) against the real service with the simulated board: values move, the simulated-source banner,
// a target state change and back, "no connection" within 1 s of the service going away and recovery by itself,
// accessibility (axe-core: no serious/critical) and a greyscale screenshot readable by the non-colour cue.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { freePort, launchBrowser, loadApi, outputDir, repo, startServer, stopServer, tempFolder } from "./lib/harness.mjs";

const require = createRequire(import.meta.url);
const SIMULATED = ["SCM L", "SCM R", "UT L", "UT R", "SPL L", "SPL R", "LS L", "LS R"];
const PATIENT = "P-display-1";

let grpcPort, browserPort, folder, server, browser, page, api;

const bar = (label) => `.bar[data-label="${label}"]`;
const barInfo = (label) => page.$eval(bar(label), (b) => ({
  kind: b.dataset.kind, state: b.dataset.state, value: b.dataset.value,
  headline: b.querySelector(".bar-value").textContent, cue: b.querySelector(".bar-cue").textContent,
  icon: b.querySelector(".bar-cue .icon")?.textContent ?? "",
}));

describe("patient view", () => {
  before(async () => {
    mkdirSync(outputDir, { recursive: true });
    api = await loadApi();
    [grpcPort, browserPort] = [await freePort(), await freePort()];
    folder = tempFolder("emg-display-rec-");
    // A stored calibration for the patient (CalibrationStore's format): %MVC = (rms - rest) / (mvc - rest).
    const cal = join(folder, "calibrations", "station1");
    mkdirSync(cal, { recursive: true });
    const at = new Date().toISOString();
    const muscles = Object.fromEntries(["SCM L", "SCM R", "UT L", "UT R"].map((l) => [l, { rest_uv: 5, mvc_uv: 200, method: "seeded by the display test", calibrated_at: at }]));
    writeFileSync(join(cal, `${PATIENT}.json`), JSON.stringify({ schema: "emg-calibration/1", station: "station1", patient_code: PATIENT, saved_at: at, muscles }, null, 2));
    server = await startServer({ grpcPort, browserPort, folder });
    browser = await launchBrowser();
    page = await browser.context.newPage();
    page.on("pageerror", (e) => console.error("page error:", e.message));
  });

  after(async () => {
    await browser?.close();
    await stopServer(server);
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  it("(a) shows each muscle with values that change over time and the simulated-source banner, on the browser port only", async () => {
    assert.equal(server.displayLine, `Patient display on http://127.0.0.1:${browserPort}/`);
    await page.goto(`http://127.0.0.1:${browserPort}/`);
    await page.waitForFunction((n) => document.querySelectorAll('.bar[data-kind="value"]').length === n, SIMULATED.length, { timeout: 15000 });
    const labels = await page.$$eval(".bar", (bs) => bs.map((b) => b.dataset.label));
    assert.deepEqual([...labels].sort(), [...SIMULATED].sort());
    const seen = Object.fromEntries(SIMULATED.map((l) => [l, new Set()]));
    for (let i = 0; i < 12; i++) {
      for (const l of SIMULATED) {
        const b = await barInfo(l);
        assert.equal(b.kind, "value", `${l}: ${b.headline}`);
        assert.match(b.headline, /^\d+(\.\d)? µV$/, `${l} shows µV before calibration`);
        seen[l].add(b.value);
      }
      await page.waitForTimeout(200);
    }
    for (const l of SIMULATED) assert.ok(seen[l].size >= 3, `${l}: values did not change (${[...seen[l]].join(", ")})`);
    const banner = await page.$eval("#source-banner", (e) => ({ hidden: e.hidden, text: e.textContent }));
    assert.equal(banner.hidden, false);
    assert.match(banner.text, /Simulated board/);
    assert.equal(await page.$eval("#link", (e) => e.textContent), "Live");
    const balance = await page.$eval(".balance-text", (e) => e.textContent);
    assert.match(balance, /Left \d+ % · Right \d+ % \(raw µV/);
    // The gRPC port (HTTP/2 only) does not serve the page.
    const onGrpcPort = await fetch(`http://127.0.0.1:${grpcPort}/`).then((r) => r.status, () => "refused");
    assert.notEqual(onGrpcPort, 200);
    await page.screenshot({ path: join(outputDir, "a-no-session.png"), fullPage: true });
  });

  it("(b) a target on SCM L: the bar goes above target during a burst and back in the zone", async () => {
    const transport = createGrpcWebTransport({ baseUrl: `http://127.0.0.1:${browserPort}`, useBinaryFormat: true });
    const sessions = createClient(api.sessions.Sessions, transport);
    await sessions.startSession({ patientCode: PATIENT, montagePreset: "default" });
    const stored = await sessions.reuseCalibration({});
    assert.equal(stored.muscles.length, 4);
    // Tonic 35 µV ≈ 15 %MVC, bursts of 180 µV ≈ 90 %MVC every 6 s: a BELOW target at 50 %MVC is crossed by each burst.
    await sessions.setTarget({ label: "SCM L", direction: api.live.TargetDirection.BELOW, levelPct: 50 });
    // Only the montage's muscles get bars.
    await page.waitForFunction(() => document.querySelectorAll(".bar").length === 4, null, { timeout: 5000 });
    assert.deepEqual((await page.$$eval(".bar", (bs) => bs.map((x) => x.dataset.label))).sort(), ["SCM L", "SCM R", "UT L", "UT R"]);
    await page.waitForFunction((s) => document.querySelector(s)?.dataset.state === "inside", bar("SCM L"), { timeout: 10000 });
    let b = await barInfo("SCM L");
    assert.match(b.headline, /%MVC$/);
    assert.equal(b.cue, "✓In target zone");
    await page.waitForFunction((s) => document.querySelector(s)?.dataset.state === "above", bar("SCM L"), { timeout: 10000, polling: "raf" });
    b = await barInfo("SCM L");
    assert.equal(b.icon, "▲");
    assert.match(b.cue, /Above target/);
    await page.screenshot({ path: join(outputDir, "b-above-target.png"), fullPage: true });
    copyFileSync(join(outputDir, "b-above-target.png"), join(repo, "docs", "patient-view.png"));
    await page.waitForFunction((s) => document.querySelector(s)?.dataset.state === "inside", bar("SCM L"), { timeout: 10000, polling: "raf" });
    b = await barInfo("SCM L");
    assert.match(b.cue, /In target zone/);
    // The target zone is drawn from the target the frames carry (MuscleActivation.target_direction / target_level_pct).
    const zone = await page.$eval(`${bar("SCM L")} .bar-zone`, (z) => ({ display: z.style.display, bottom: z.style.bottom, height: z.style.height }));
    assert.deepEqual(zone, { display: "block", bottom: "0%", height: "50%" });
    assert.equal(await page.$eval(`${bar("SCM R")} .bar-zone`, (z) => z.style.display), "none");
    // A muscle without a target says so in words too.
    assert.match((await barInfo("SCM R")).cue, /No target/);
    await page.screenshot({ path: join(outputDir, "b-inside-target.png"), fullPage: true });
  });

  it("(d) axe-core finds no serious or critical violation; in greyscale every bar still states its state in words and icon", async () => {
    await page.addScriptTag({ content: readFileSync(require.resolve("axe-core/axe.min.js"), "utf8") });
    const violations = await page.evaluate(async () => (await window.axe.run(document, { resultTypes: ["violations"] })).violations
      .map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length, help: v.help })));
    writeFileSync(join(outputDir, "d-axe-violations.json"), JSON.stringify(violations, null, 2));
    const bad = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
    assert.deepEqual(bad, [], JSON.stringify(bad));
    await page.evaluate(() => { document.documentElement.style.filter = "grayscale(1)"; });
    await page.screenshot({ path: join(outputDir, "d-greyscale.png"), fullPage: true });
    const cues = await page.$$eval('.bar[data-kind="value"]', (bs) => bs.map((b) => ({
      state: b.dataset.state, icon: b.querySelector(".bar-cue .icon")?.textContent, words: b.querySelector(".bar-cue .words")?.textContent })));
    assert.ok(cues.length >= 4, `bars with values: ${cues.length}`);
    const expected = { inside: ["✓", "In target zone"], above: ["▲", "Above target"], below: ["▼", "Below target"], none: ["●", "No target"] };
    for (const c of cues) assert.deepEqual([c.icon, c.words], expected[c.state], JSON.stringify(c));
    assert.ok(cues.some((c) => c.state !== "none"), "a targeted bar is on screen");
    await page.evaluate(() => { document.documentElement.style.filter = ""; });
  });

  it("(c) says 'No connection' within 1 s of the service going away, and recovers by itself when it is back", async () => {
    await page.waitForFunction(() => document.body.dataset.link === "up", null, { timeout: 5000 });
    const killedAt = Date.now();
    await stopServer(server, "SIGKILL");
    await page.waitForFunction(() => [...document.querySelectorAll(".bar")].every((b) => b.dataset.kind === "unreachable" || b.dataset.kind === "no-signal"),
      null, { timeout: 1000, polling: "raf" });
    const noticedMs = Date.now() - killedAt;
    const headlines = await page.$$eval(".bar .bar-value", (vs) => vs.map((v) => v.textContent));
    for (const h of headlines) assert.match(h, /^(No connection|No signal)$/, h);
    await page.waitForFunction(() => document.body.dataset.link === "unreachable", null, { timeout: 2000 });
    assert.match(await page.$eval("#link", (e) => e.textContent), /unreachable/);
    await page.screenshot({ path: join(outputDir, "c-service-down.png"), fullPage: true });
    console.log(`# no-connection shown ${noticedMs} ms after the service was killed`);
    assert.ok(noticedMs <= 1000, `${noticedMs} ms`);

    server = await startServer({ grpcPort, browserPort, folder });
    await page.waitForFunction(() => document.body.dataset.link === "up" && document.querySelectorAll('.bar[data-kind="value"]').length > 0, null, { timeout: 30000 });
    const v1 = (await barInfo(SIMULATED[0])).value;
    await page.waitForTimeout(500);
    const v2 = (await barInfo(SIMULATED[0])).value;
    assert.notEqual(v1, v2, "values move again after the restart");
    assert.match(await page.$eval("#source-banner", (e) => e.textContent), /Simulated board/);
  });
});
