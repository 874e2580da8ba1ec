// Sensor to pixel, through the real serial path: `emg board` (the simulated board) writes into one end of a socat pty
// pair, the service reads the other end as its serial port, and the patient view in headless chromium draws the bars.
// Two channels step from 20 to 150 µV RMS at known samples every second (SCM L and SCM R once the default montage is
// on); each has a BELOW target at 40 %MVC: SCM L with the default dwell (0.2 s), SCM R with dwell 0 (fast feedback).
// For each step the page's probe (window.emgDisplayProbe) says in which animation frame the bar first showed the
// new level and the new state; the board's ORIGIN line turns the step's sample index into the wall-clock time the
// board produced it. Figures go to output/latency.json and output/latency.md (docs/performance.md quotes them).
// Then the board is unplugged (socat killed): every bar must say "No signal" within 1 s, and come back when the
// line returns.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { cliDll, freePort, launchBrowser, loadApi, outputDir, startServer, stopServer, tempFolder } from "./lib/harness.mjs";

const PATIENT = "P-latency-1";
const STEPS = Number(process.env.EMG_LATENCY_STEPS ?? 60);
const LEVEL = 40; // %MVC: rest 5 µV, MVC 200 µV → 83 µV; the steps go from 20 µV (8 %MVC) to 150 µV (74 %MVC)
const RATE = 1000;
// More service settings for a run (e.g. the fast-feedback settings of docs/performance.md) and the name of its figures.
const SERVER_ARGS = (process.env.EMG_LATENCY_SERVER_ARGS ?? "").split(" ").filter(Boolean);
const NAME = process.env.EMG_LATENCY_NAME ?? "latency";

let folder, socat, board, server, browser, page, api, boardLog = "";
let timeline = { origin: NaN, rate: NaN, first: NaN, every: NaN, high: NaN };

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function startSocat() {
  const child = spawn("socat", [`pty,raw,echo=0,link=${join(folder, "board")}`, `pty,raw,echo=0,link=${join(folder, "host")}`], { stdio: "ignore" });
  return child;
}

async function waitFor(cond, ms, what) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function stop(child, signal = "SIGTERM") {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((res) => { child.once("exit", () => res()); child.kill(signal); });
}

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
};
const stats = (xs) => ({ n: xs.length, p50: quantile(xs, 0.5), p99: quantile(xs, 0.99), max: Math.max(...xs), min: Math.min(...xs) });

describe("sensor to pixel through the serial path, and the board unplugged", () => {
  before(async () => {
    mkdirSync(outputDir, { recursive: true });
    api = await loadApi();
    folder = tempFolder("emg-latency-");
    socat = startSocat();
    await waitFor(() => existsSync(join(folder, "board")) && existsSync(join(folder, "host")), 10000, "socat's pty links");
    board = spawn("dotnet", [cliDll(), "board", "--device", join(folder, "board"), "--rate", String(RATE), "--step-channels", "1,2",
      "--step-low", "20", "--step-high", "150", "--step-period", "1", "--step-seconds", "0.5", "--step-at", "0.25"],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, DOTNET_NOLOGO: "1" } });
    const onBoard = (d) => {
      boardLog += d.toString();
      for (const m of boardLog.matchAll(/^ORIGIN ([\d.]+) RATE (\d+)$/gm)) [timeline.origin, timeline.rate] = [Number(m[1]), Number(m[2])];
      const s = /^STEPS first=(\d+) every=(\d+) high=(\d+)/m.exec(boardLog);
      if (s) [timeline.first, timeline.every, timeline.high] = [Number(s[1]), Number(s[2]), Number(s[3])];
    };
    board.stdout.on("data", onBoard);
    board.stderr.on("data", onBoard);
    await waitFor(() => Number.isFinite(timeline.origin) && Number.isFinite(timeline.first), 30000, `the board's timeline (${boardLog})`);

    const [grpcPort, browserPort] = [await freePort(), await freePort()];
    const cal = join(folder, "rec", "calibrations", "station1");
    mkdirSync(cal, { recursive: true });
    const at = new Date().toISOString();
    const muscles = Object.fromEntries(["SCM L", "SCM R", "UT L", "UT R"].map((l) => [l, { rest_uv: 5, mvc_uv: 200, method: "seeded by the latency test", calibrated_at: at }]));
    writeFileSync(join(cal, `${PATIENT}.json`), JSON.stringify({ schema: "emg-calibration/1", station: "station1", patient_code: PATIENT, saved_at: at, muscles }, null, 2));
    server = await startServer({ grpcPort, browserPort, folder: join(folder, "rec"), extraArgs: [`--Acquisition:Serial:PortName=${join(folder, "host")}`, ...SERVER_ARGS] });
    const transport = createGrpcWebTransport({ baseUrl: `http://127.0.0.1:${browserPort}`, useBinaryFormat: true });
    const sessions = createClient(api.sessions.Sessions, transport);
    await sessions.startSession({ patientCode: PATIENT, montagePreset: "default" });
    await sessions.reuseCalibration({});
    await sessions.setTarget({ label: "SCM L", direction: api.live.TargetDirection.BELOW, levelPct: LEVEL });
    await sessions.setTarget({ label: "SCM R", direction: api.live.TargetDirection.BELOW, levelPct: LEVEL, dwellSeconds: 0 });

    browser = await launchBrowser();
    page = await browser.context.newPage();
    page.on("pageerror", (e) => console.error("page error:", e.message));
    await page.goto(`http://127.0.0.1:${browserPort}/`);
    await page.waitForFunction(() => document.querySelectorAll('.bar[data-kind="value"]').length === 4, null, { timeout: 20000 });
  });

  after(async () => {
    await browser?.close();
    await stopServer(server);
    await stop(board);
    await stop(socat);
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  it(`measures sensor-to-pixel latency over ${STEPS} steps, with its parts`, async () => {
    await page.evaluate(() => window.emgDisplayProbe.clear());
    await sleep((STEPS + 1.5) * (timeline.every / timeline.rate) * 1000);
    const { arrivals, drawn } = await page.evaluate(() => ({ arrivals: window.emgDisplayProbe.arrivals(), drawn: window.emgDisplayProbe.drawn() }));
    assert.ok(arrivals.length > STEPS * 40 && drawn.length > STEPS * 20, `probe: ${arrivals.length} arrivals, ${drawn.length} drawn`);
    const ABOVE = api.live.TargetState.ABOVE;
    const sensorMs = (sample) => timeline.origin + (sample / timeline.rate) * 1000;
    const muscle = (a, label) => a.muscles.find((m) => m.label === label);
    const bar = (d, label) => d.bars.find((b) => b.label === label);
    const bySequence = new Map(arrivals.map((a) => [a.sequence, a]));
    const firstIdx = arrivals[0].sampleIndex;
    const lastIdx = Math.min(arrivals.at(-1).sampleIndex, drawn.at(-1).sampleIndex);
    const outputStep = arrivals[1].sampleIndex - arrivals[0].sampleIndex;
    const rows = [];
    const missed = [];
    const disturbed = [];
    for (let s = timeline.first; s <= lastIdx - timeline.high; s += timeline.every) {
      if (s - timeline.every / 2 < firstIdx) continue; // the probe must have seen the quiet half-period before the step
      const end = s + timeline.high;
      // A step measured across lost samples or lost frames (a gap restarts the chain) says nothing of latency: count it apart.
      const around = arrivals.filter((a) => a.sampleIndex >= s - timeline.every / 2 && a.sampleIndex <= end);
      if (around.some((a, i) => i > 0 && (a.sequence !== around[i - 1].sequence + 1 || a.sampleIndex !== around[i - 1].sampleIndex + outputStep))) {
        disturbed.push(s);
        continue;
      }
      const came = arrivals.filter((a) => a.sampleIndex >= s && a.sampleIndex <= end);
      const shown = drawn.filter((d) => d.sampleIndex >= s && d.sampleIndex <= end);
      // In the frames as they arrived: the first whose SCM R is at the level (and, dwell 0, above target), and SCM L's.
      const arrivedLevel = came.find((a) => muscle(a, "SCM R")?.mvc >= LEVEL);
      const arrivedFast = came.find((a) => muscle(a, "SCM R")?.target === ABOVE);
      const arrivedDwellLevel = came.find((a) => muscle(a, "SCM L")?.mvc >= LEVEL);
      const arrivedDwell = came.find((a) => muscle(a, "SCM L")?.target === ABOVE);
      // On screen: the first animation frame whose bar shows the level, the state with dwell 0, the state with the default dwell.
      const drawnLevel = shown.find((d) => bar(d, "SCM R")?.kind === "value" && bar(d, "SCM R").value >= LEVEL);
      const drawnFast = shown.find((d) => bar(d, "SCM R")?.state === "above");
      const drawnDwell = shown.find((d) => bar(d, "SCM L")?.state === "above");
      if (![arrivedLevel, arrivedFast, arrivedDwellLevel, arrivedDwell, drawnLevel, drawnFast, drawnDwell].every(Boolean)) { missed.push(s); continue; }
      const row = {
        stepSample: s,
        levelMs: drawnLevel.drawnAt - sensorMs(s),
        stateFastMs: drawnFast.drawnAt - sensorMs(s),
        stateDwellMs: drawnDwell.drawnAt - sensorMs(s),
        // Sample time from SCM L reaching the level to its state changing: the dwell (10 frames at 50 Hz, the first
        // included, so at least 9 output intervals) when the level holds, longer when it dips.
        dwellHeldMs: ((arrivedDwell.sampleIndex - arrivedDwellLevel.sampleIndex) / timeline.rate) * 1000,
        // The parts of the fast state's latency: in sample time (the envelope rising, then waiting for an output
        // instant), then in wall-clock time (board + serial + chain up to the envelope, service to page, page to screen).
        signalMs: ((arrivedFast.sampleIndex - s) / timeline.rate) * 1000,
        boardToComputedMs: arrivedFast.computedAt - sensorMs(arrivedFast.sampleIndex),
        serviceToPageMs: arrivedFast.arrivedAt - arrivedFast.computedAt,
        pageMs: drawnFast.drawnAt - arrivedFast.arrivedAt,
        sameFrame: arrivedLevel.sequence === arrivedFast.sequence,
      };
      // The envelope's crossing of the level between the previous output instant and this one: the mean square rises
      // linearly in a step through a rectangular window, so interpolate in µV² (rms = 5 + 1.95 × %MVC here).
      const prev = bySequence.get(arrivedFast.sequence - 1);
      if (prev && Number.isFinite(muscle(prev, "SCM R")?.mvc)) {
        const uv = (pct) => 5 + 1.95 * pct;
        const [a, b, t] = [uv(muscle(prev, "SCM R").mvc) ** 2, uv(muscle(arrivedFast, "SCM R").mvc) ** 2, uv(LEVEL) ** 2];
        if (b > a && t >= a && t <= b) {
          const crossing = prev.sampleIndex + ((t - a) / (b - a)) * (arrivedFast.sampleIndex - prev.sampleIndex);
          row.envelopeMs = ((crossing - s) / timeline.rate) * 1000;
          row.outputWaitMs = ((arrivedFast.sampleIndex - crossing) / timeline.rate) * 1000;
        }
      }
      rows.push(row);
    }
    const pick = (k) => rows.map((r) => r[k]).filter((x) => Number.isFinite(x));
    const summary = Object.fromEntries(["levelMs", "stateFastMs", "stateDwellMs", "dwellHeldMs", "signalMs", "envelopeMs", "outputWaitMs",
      "boardToComputedMs", "serviceToPageMs", "pageMs"].map((k) => [k, stats(pick(k))]));
    const result = { steps: rows.length, missed, disturbed, timeline, serverArgs: SERVER_ARGS, summary, rows };
    writeFileSync(join(outputDir, `${NAME}.json`), JSON.stringify(result, null, 2));
    const f = (x) => x.toFixed(1);
    const md = ["| part | n | p50 ms | p99 ms | max ms |", "|---|---|---|---|---|",
      ...Object.entries(summary).map(([k, s]) => `| ${k} | ${s.n} | ${f(s.p50)} | ${f(s.p99)} | ${f(s.max)} |`)].join("\n");
    writeFileSync(join(outputDir, `${NAME}.md`), md + "\n");
    console.log(`# sensor to pixel over ${rows.length} steps (${missed.length} missed, ${disturbed.length} across a gap)\n${md.split("\n").map((l) => `# ${l}`).join("\n")}`);

    assert.deepEqual(missed, [], "every step shows on the bar while the step lasts");
    assert.ok(rows.length >= 50, `steps measured: ${rows.length}`);
    for (const r of rows) {
      // The parts add up to the whole, and causality holds: nothing is drawn before the board produced it.
      assert.ok(Math.abs(r.signalMs + r.boardToComputedMs + r.serviceToPageMs + r.pageMs - r.stateFastMs) < 0.01, JSON.stringify(r));
      assert.ok(r.levelMs > 0 && r.stateFastMs > 0 && r.signalMs > 0 && r.pageMs >= 0, JSON.stringify(r));
      // Dwell 0 reports the state in the very frame the envelope reaches the level; the default dwell holds it 9 more frames.
      assert.ok(r.sameFrame, JSON.stringify(r));
      assert.ok(r.dwellHeldMs >= 0.18 * 1000 - 0.01, JSON.stringify(r));
    }
    assert.ok(pick("envelopeMs").length >= rows.length / 2, "the crossing was interpolated for most steps");
  });

  it("says 'No signal' within 1 s of the board being unplugged (pty closed) and recovers when it is plugged back", async () => {
    await page.waitForFunction(() => document.body.dataset.link === "up", null, { timeout: 5000 });
    const unpluggedAt = Date.now();
    await stop(socat, "SIGKILL");
    await page.waitForFunction(() => [...document.querySelectorAll(".bar")].every((b) => b.dataset.kind === "no-signal"),
      null, { timeout: 2000, polling: "raf" });
    const noticedMs = Date.now() - unpluggedAt;
    const headlines = await page.$$eval(".bar .bar-value", (vs) => vs.map((v) => v.textContent));
    for (const h of headlines) assert.equal(h, "No signal");
    assert.match(await page.$eval("#link", (e) => e.textContent), /no signal/i);
    await page.screenshot({ path: join(outputDir, "e-board-unplugged.png"), fullPage: true });
    console.log(`# no-signal shown ${noticedMs} ms after the board was unplugged`);
    assert.ok(noticedMs <= 1000, `${noticedMs} ms`);

    socat = startSocat();
    await page.waitForFunction(() => document.body.dataset.link === "up" && document.querySelectorAll('.bar[data-kind="value"]').length === 4,
      null, { timeout: 30000 });
    assert.equal(await page.$eval("#link", (e) => e.textContent), "Live");
  });
});
