// The patient view in headless chromium for the whole end-to-end run (tests/EmgBiofeedback.EndToEnd.Tests): opens the
// page, then ten times a second asks it what it shows and how old the newest frame it holds is, and once a second how
// long each new frame took from the service's computation to the page (arrival) and to the bars (drawn), from the page's
// own probe (window.emgDisplayProbe). One JSON object per line on stdout:
//   {"kind":"ready"}
//   {"kind":"sample","t":<ms>,"link":"up|stale|unreachable","showing":<bars showing a value>,"noSignal":<bars saying No signal>,
//    "arrivalAgeMs":<now - newest frame's arrival>,"computedAgeMs":<now - newest frame's computed_at>}
//   {"kind":"latency","t":<ms>,"arrivedMs":[...],"drawnMs":[...]}
// Usage: node patient-view-probe.mjs <page url> <tests/EmgBiofeedback.Display.Tests folder (its node_modules has playwright-core)>
// Ends on SIGTERM or when stdin closes.
import { createRequire } from "node:module";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [url, displayTests] = process.argv.slice(2);
const require = createRequire(join(displayTests, "package.json"));
const { chromium } = require("playwright-core");

const out = (o) => process.stdout.write(JSON.stringify(o) + "\n");
const profile = mkdtempSync(join(tmpdir(), "emg-e2e-profile-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-quic", "--no-first-run", "--disable-background-timer-throttling", "--disable-renderer-backgrounding"],
  viewport: { width: 1280, height: 900 },
});
let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  clearInterval(timer);
  await context.close().catch(() => {});
  rmSync(profile, { recursive: true, force: true });
  process.exit(0);
}
process.on("SIGTERM", stop);
process.stdin.on("end", stop);
process.stdin.resume();

const page = await context.newPage();
page.on("pageerror", (e) => process.stderr.write(`page error: ${e.message}\n`));
await page.goto(url);
await page.waitForFunction(() => window.emgDisplayProbe && document.querySelectorAll(".bar").length > 0, null, { timeout: 60000 });
await page.evaluate(() => {
  // In the page: what it shows every 100 ms, and the new frames' latencies since the last take.
  const state = { samples: [], arrived: [], drawn: [], lastArrivedAt: 0, lastDrawnAt: 0 };
  window.__e2e = state;
  setInterval(() => {
    const now = Date.now();
    const arrivals = window.emgDisplayProbe.arrivals();
    const newest = arrivals.at(-1);
    const bars = [...document.querySelectorAll(".bar")];
    state.samples.push({
      t: now,
      link: document.body.dataset.link ?? "",
      showing: bars.filter((b) => b.dataset.kind === "value").length,
      noSignal: bars.filter((b) => b.dataset.kind === "no-signal").length,
      arrivalAgeMs: newest ? now - newest.arrivedAt : -1,
      computedAgeMs: newest ? now - newest.computedAt : -1,
    });
    const byArrival = new Map();
    for (let i = arrivals.length - 1; i >= 0 && arrivals[i].arrivedAt > state.lastArrivedAt; i--) {
      state.arrived.push(arrivals[i].arrivedAt - arrivals[i].computedAt);
      byArrival.set(arrivals[i].sequence, arrivals[i]);
    }
    if (newest) state.lastArrivedAt = Math.max(state.lastArrivedAt, newest.arrivedAt);
    const drawn = window.emgDisplayProbe.drawn();
    for (let i = drawn.length - 1; i >= 0 && drawn[i].drawnAt > state.lastDrawnAt; i--) {
      const a = byArrival.get(drawn[i].sequence) ?? arrivals.findLast((x) => x.sequence === drawn[i].sequence);
      if (a) state.drawn.push(drawn[i].drawnAt - a.computedAt);
    }
    const lastDrawn = drawn.at(-1);
    if (lastDrawn) state.lastDrawnAt = Math.max(state.lastDrawnAt, lastDrawn.drawnAt);
  }, 100);
});
out({ kind: "ready" });

let busy = false;
const timer = setInterval(async () => {
  if (busy || stopping) return;
  busy = true;
  try {
    const taken = await page.evaluate(() => {
      const s = window.__e2e;
      const r = { samples: s.samples, arrived: s.arrived, drawn: s.drawn };
      s.samples = []; s.arrived = []; s.drawn = [];
      return r;
    });
    for (const s of taken.samples) out({ kind: "sample", ...s });
    out({ kind: "latency", t: Date.now(), arrivedMs: taken.arrived, drawnMs: taken.drawn });
  } catch (e) {
    process.stderr.write(`probe: ${e.message}\n`);
  } finally {
    busy = false;
  }
}, 1000);
