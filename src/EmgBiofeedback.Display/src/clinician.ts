// Clinician view: every channel's trace and envelope (uPlot), electrode quality in words, station counters, and the
// session's controls (calibration, targets, protocol, markers, stop + summary, replay).
// Two server streams: Live.StreamLive (activation frames + events) and Live.StreamWaveform; GetStatus every 2 s.
import { createClient } from "@connectrpc/connect";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { EventKind, Live, Phase, TargetDirection, type ActivationFrame, type Event, type MuscleActivation, type Session, SourceKind, type Status } from "./gen/emg/v1/live_pb";
import { CalibrationStep, Sessions, type CalibrationResult } from "./gen/emg/v1/sessions_pb";
import { Replays } from "./gen/emg/v1/replay_pb";
import { errorText, transport } from "./client";
import { clinicianOnly, linkWithToken } from "./auth";
import { Ring, STALE_AFTER_MS, backoffMs, channelName, qualityOf, sourceBanner, summaryFigures, targetOf } from "./model";

const live = createClient(Live, transport);
const sessions = createClient(Sessions, transport);
const replays = createClient(Replays, transport);
// Session control needs a clinician token: a viewer token sees "patient view only" here and nothing else.
clinicianOnly(Sessions, Replays);

const TRACE_SECONDS = 5;
const WAVE_HEIGHT = 130;
const ENV_HEIGHT = 100;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

function el(tag: string, cls?: string, text?: string): HTMLElement {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

// ---- state written by the streams ----
let latest: ActivationFrame | undefined;
let latestArrivedAt = 0;
let liveUp = false;
let statusUp = false; // the last GetStatus answered: the service is reachable even when no board sends a frame
let everConnected = false;
let boardConnected = true;
let sourceKind: SourceKind | undefined;
let montage: Set<number> | null = null;
let status: Status | undefined;
/** The StartSession answer (it, not GetStatus, offers the stored calibration). */
let started: Session | undefined;

interface Countdown { el: HTMLElement; text: string; endsAt: number; paused: boolean }
let calCountdown: Countdown | null = null;
let protoCountdown: Countdown | null = null;

// ---- channels: one card per channel with a waveform chart and an envelope chart ----
interface ChannelView {
  channel: number;
  card: HTMLElement;
  title: HTMLElement;
  light: HTMLElement;
  value: HTMLElement;
  wave: uPlot;
  env: uPlot;
  samples: Ring;
  rate: number;
  envT: Ring;
  envV: Ring;
  envUnit: "%MVC" | "µV";
  target: number | null;
  dirty: boolean;
  /** Half-height of the waveform's y range, µV (robust: a filter transient does not flatten the trace). */
  span: number;
  draws: number;
  label: string;
}
const channels = new Map<number, ChannelView>();
const channelsEl = $("channels");

function chartWidth(): number {
  const w = channelsEl.clientWidth || 1200;
  return Math.max(280, Math.floor((w - 48) / 2) - 24);
}

function makeChannel(channel: number, rate: number): ChannelView {
  const card = el("article", "channel");
  card.dataset.channel = String(channel);
  const head = el("div", "channel-head");
  const title = el("h3", undefined, channelName(channel, undefined));
  title.id = `ch-title-${channel}`;
  card.setAttribute("aria-labelledby", title.id);
  const light = el("p", "light");
  light.setAttribute("role", "status");
  const value = el("p", "channel-value", "—");
  head.append(title, light, value);
  const waveBox = el("div", "chart wave");
  waveBox.setAttribute("role", "img");
  waveBox.setAttribute("aria-label", `Filtered signal of channel ${channel + 1}, last ${TRACE_SECONDS} s`);
  const envBox = el("div", "chart env");
  envBox.setAttribute("role", "img");
  envBox.setAttribute("aria-label", `Envelope of channel ${channel + 1}, last ${TRACE_SECONDS} s`);
  card.append(head, waveBox, envBox);
  channelsEl.append(card);
  const view = { span: 50 } as ChannelView;
  const width = chartWidth();
  const axis = { stroke: "#1a1a1a", font: "11px DejaVu Sans, sans-serif", labelFont: "bold 11px DejaVu Sans, sans-serif", grid: { stroke: "#d8d8d8", width: 1 }, ticks: { stroke: "#999", width: 1, size: 4 } };
  // Time axis: seconds before now (the legend says so); compact so the plot keeps its height.
  const xAxis = { ...axis, size: 24 };
  const yAxis = (label: string) => ({ ...axis, label, labelSize: 16, size: 48 });
  const wave = new uPlot({
    width, height: WAVE_HEIGHT, legend: { show: false }, cursor: { show: false },
    scales: { x: { time: false, range: [-TRACE_SECONDS, 0] }, y: { range: () => [-view.span, view.span] } },
    axes: [xAxis, yAxis("µV")],
    series: [{}, { stroke: "#0072B2", width: 1 }],
  }, [[], []], waveBox);
  const env = new uPlot({
    width, height: ENV_HEIGHT, legend: { show: false }, cursor: { show: false },
    scales: { x: { time: false, range: [-TRACE_SECONDS, 0] }, y: { range: (_u, _min, max) => [0, Math.max(10, max * 1.1)] } },
    axes: [xAxis, yAxis("µV")],
    series: [{}, { stroke: "#E69F00", width: 2 }, { stroke: "#000000", width: 2, dash: [8, 6] }],
  }, [[], [], []], envBox);
  Object.assign(view, {
    channel, card, title, light, value, wave, env, rate,
    samples: new Ring(Math.max(1, Math.round(rate * TRACE_SECONDS))),
    envT: new Ring(1024), envV: new Ring(1024), envUnit: "µV", target: null, dirty: true, span: 50, draws: 0, label: "",
  });
  channels.set(channel, view);
  // Keep cards in channel order.
  [...channels.values()].sort((a, b) => a.channel - b.channel).forEach((v) => channelsEl.append(v.card));
  return view;
}

function onWaveform(channel: number, rate: number, microvolts: number[]): void {
  let v = channels.get(channel);
  if (!v || v.rate !== rate) {
    if (v) { v.wave.destroy(); v.env.destroy(); v.card.remove(); channels.delete(channel); }
    v = makeChannel(channel, rate);
  }
  for (const x of microvolts) v.samples.push(x);
  v.dirty = true;
}

function onActivation(frame: ActivationFrame): void {
  const t = frame.sampleTimeSeconds;
  for (const m of frame.muscles) {
    const v = channels.get(m.channel);
    if (!v) continue;
    const unit = m.mvcPercent !== undefined ? "%MVC" : "µV";
    if (unit !== v.envUnit) {
      v.envUnit = unit;
      v.envT.clear();
      v.envV.clear();
      v.env.axes[1].label = unit;
      v.env.redraw(false, true);
      v.card.dataset.envUnit = unit;
    }
    v.envT.push(t);
    v.envV.push(m.valid ? (m.mvcPercent ?? m.rmsMicrovolts) : NaN);
    const tg = targetOf(m);
    v.target = unit === "%MVC" && tg ? tg.levelPct : null;
    const targetKey = v.target === null ? "" : String(v.target);
    if (v.card.dataset.target !== targetKey) v.card.dataset.target = targetKey;
    v.dirty = true;
  }
}

/** ±(1.2 × the 99th percentile of |µV|), at least 20 µV, in steps of 10 µV. */
function robustSpan(ys: number[]): number {
  if (ys.length === 0) return 50;
  const abs = ys.map(Math.abs).sort((a, b) => a - b);
  const p99 = abs[Math.min(abs.length - 1, Math.floor(abs.length * 0.99))];
  return Math.max(20, Math.ceil((p99 * 1.2) / 10) * 10);
}

/** Min/max per bucket so 5 s at 1 kHz draws as ~1200 points without losing peaks. */
function decimate(ys: number[], rate: number): [number[], number[]] {
  const n = ys.length;
  const bucket = Math.max(1, Math.ceil(n / 600));
  const xs: number[] = [];
  const out: number[] = [];
  for (let i = 0; i < n; i += bucket) {
    let lo = Infinity, hi = -Infinity, ilo = i, ihi = i;
    for (let j = i; j < Math.min(n, i + bucket); j++) {
      if (ys[j] < lo) { lo = ys[j]; ilo = j; }
      if (ys[j] > hi) { hi = ys[j]; ihi = j; }
    }
    const [a, b] = ilo <= ihi ? [ilo, ihi] : [ihi, ilo];
    xs.push((a - n) / rate); out.push(ys[a]);
    if (b !== a) { xs.push((b - n) / rate); out.push(ys[b]); }
  }
  return [xs, out];
}

function drawChannels(link: "up" | "stale" | "unreachable"): void {
  const frame = latest;
  const byChannel = new Map<number, MuscleActivation>((frame?.muscles ?? []).map((m) => [m.channel, m]));
  for (const v of channels.values()) {
    const m = byChannel.get(v.channel);
    const name = channelName(v.channel, m?.label);
    const inMontage = montage === null || montage.has(v.channel);
    const title = inMontage ? name : `${name} (not in the session's montage)`;
    if (v.title.textContent !== title) v.title.textContent = title;
    if (v.label !== name) { v.label = name; v.card.dataset.label = name; }
    const q = qualityOf(m, link === "up");
    const lightText = `${q.icon} ${q.words}`;
    if (v.light.textContent !== lightText) {
      v.light.replaceChildren();
      const dot = el("span", "dot", q.icon);
      dot.setAttribute("aria-hidden", "true");
      dot.style.color = q.colour;
      v.light.append(dot, el("span", "words", ` ${q.words}`));
      v.light.dataset.light = q.light;
      v.card.dataset.light = q.light;
    }
    const valueText = link !== "up" || !m || !m.valid ? "—"
      : m.mvcPercent !== undefined ? `${m.mvcPercent.toFixed(1)} %MVC${v.target !== null ? ` · target ${v.target.toFixed(0)}` : ""}` : `${m.rmsMicrovolts.toFixed(1)} µV RMS`;
    if (v.value.textContent !== valueText) v.value.textContent = valueText;
    if (!v.dirty) continue;
    v.dirty = false;
    const raw = v.samples.toArray();
    v.span = robustSpan(raw);
    const [xs, ys] = decimate(raw, v.rate);
    v.wave.setData([xs, ys]);
    const ts = v.envT.toArray();
    const last = ts.length > 0 ? ts[ts.length - 1] : 0;
    const keep = ts.findIndex((t) => t >= last - TRACE_SECONDS);
    const from = keep < 0 ? 0 : keep;
    const ex = ts.slice(from).map((t) => t - last);
    const ev = v.envV.toArray().slice(from).map((y) => (Number.isNaN(y) ? null : y));
    const tl = ex.map(() => v.target);
    v.env.setData([ex, ev as number[], tl as number[]]);
    v.draws++;
    v.card.dataset.draws = String(v.draws);
  }
}

// ---- streams ----
async function runLive(): Promise<never> {
  let failures = 0;
  for (;;) {
    try {
      for await (const msg of live.streamLive({})) {
        liveUp = true;
        everConnected = true;
        failures = 0;
        if (msg.item.case === "activation") {
          latest = msg.item.value;
          latestArrivedAt = performance.now();
          sourceKind = latest.sourceKind;
          onActivation(latest);
        } else if (msg.item.case === "event") {
          onEvent(msg.item.value);
        }
      }
    } catch {
      // retried below; the link line says so
    }
    liveUp = false;
    failures++;
    await sleep(backoffMs(failures));
  }
}

async function runWaveform(): Promise<never> {
  let failures = 0;
  for (;;) {
    try {
      for await (const block of live.streamWaveform({})) {
        failures = 0;
        for (const c of block.channels) onWaveform(c.channel, block.sampleRateHz, c.microvolts);
      }
    } catch {
      // retried below
    }
    failures++;
    await sleep(backoffMs(failures));
  }
}

// ---- station status: GetStatus every 2 s ----
const statusEl = $("status");
function row(dl: HTMLElement, name: string, value: string): void {
  const dt = el("dt", undefined, name);
  const dd = el("dd", undefined, value);
  dl.append(dt, dd);
}
async function pollStatus(): Promise<never> {
  for (;;) {
    try {
      status = await live.getStatus({});
      statusUp = true;
      everConnected = true;
      $("status-error").textContent = "";
      boardConnected = status.connected;
      sourceKind = status.sourceKind;
      const entries = status.session?.montage ?? [];
      montage = entries.length > 0 ? new Set(entries.map((e) => e.channel)) : null;
      const c = status.counters;
      const l = status.deliveryLatency;
      statusEl.replaceChildren();
      row(statusEl, "Link", `${status.connected ? "up" : "DOWN"} · ${status.link}`);
      if (status.notProcessed) row(statusEl, "Not processed", status.notProcessed);
      row(statusEl, "Delivery latency", l && l.count > 0n ? `p50 ${l.p50Ms.toFixed(1)} ms · p99 ${l.p99Ms.toFixed(1)} ms · max ${l.maxMs.toFixed(1)} ms` : "no deliveries yet");
      if (c) {
        row(statusEl, "Lost frames / gaps", `${c.lostFrames} / ${c.gaps}`);
        row(statusEl, "CRC errors / malformed / duplicates", `${c.crcErrors} / ${c.malformedFrames} / ${c.duplicates}`);
        row(statusEl, "Resyncs / reconnects", `${c.resyncs} / ${c.reconnects}`);
        row(statusEl, "Frames dropped for slow readers", String(c.droppedSubscriberFrames));
      }
      row(statusEl, "Annotations lost", String(status.annotationsLost));
      statusEl.dataset.polls = String(Number(statusEl.dataset.polls ?? "0") + 1);
      updateSessionLine();
    } catch (e) {
      statusUp = false;
      $("status-error").textContent = errorText(e);
    }
    await sleep(2000);
  }
}

function updateSessionLine(): void {
  const s = status?.session;
  const line = $("session-state");
  const saved = s?.storedCalibrationSavedAt ?? (started && s && started.sessionId === s.sessionId ? started.storedCalibrationSavedAt : undefined);
  const stored = saved ? ` · stored calibration of ${new Date(Number(saved.seconds) * 1000).toLocaleString()} available` : " · no stored calibration";
  const text = s ? `Session open: patient ${s.patientCode}, montage ${s.montageName}${stored}` : "No session open";
  if (line.textContent !== text) line.textContent = text;
  document.body.dataset.session = s ? "open" : "none";
}

// ---- events ----
const PHASE_NAMES: Partial<Record<Phase, string>> = {
  [Phase.BASELINE_PRE]: "Baseline", [Phase.WORK]: "Work", [Phase.REST]: "Rest", [Phase.BASELINE_POST]: "Final baseline",
};

function onEvent(e: Event): void {
  const now = performance.now();
  switch (e.kind) {
    case EventKind.CONNECTED: boardConnected = true; break;
    case EventKind.DISCONNECTED: boardConnected = false; break;
    case EventKind.CALIBRATION_PROMPT: {
      const of = e.trials > 0 && e.trial > 0 ? ` (${e.trial} of ${e.trials})` : "";
      calCountdown = { el: $("cal-progress"), text: `${e.label || "All muscles"}${of}: ${e.instruction || e.message}`, endsAt: now + e.secondsLeft * 1000, paused: false };
      $("cal-progress").dataset.state = "prompt";
      break;
    }
    case EventKind.CALIBRATION_RESULT:
      if (e.stepDone) {
        calCountdown = null;
        $("cal-progress").textContent = `Step finished: ${e.message}`;
        $("cal-progress").dataset.state = "done";
      } else {
        $("cal-progress").dataset.state = "window";
      }
      break;
    case EventKind.PROTOCOL_PHASE:
      if (e.phase === Phase.DONE) {
        protoCountdown = null;
        $("protocol-phase").textContent = `Protocol finished${e.message ? `: ${e.message}` : ""}`;
        $("protocol-count").textContent = "";
        $("protocol-phase").dataset.phase = "done";
      } else {
        const of = e.trials > 0 && e.trial > 0 ? ` ${e.trial} of ${e.trials}` : "";
        protoCountdown = { el: $("protocol-phase"), text: `${PHASE_NAMES[e.phase] ?? "Phase"}${of}: ${e.instruction || e.message}`, endsAt: now + e.secondsLeft * 1000, paused: false };
        $("protocol-phase").dataset.phase = String(Phase[e.phase]).toLowerCase();
      }
      break;
    case EventKind.MARKER: {
      const li = el("li", undefined, `${e.label} · ${e.time ? new Date(Number(e.time.seconds) * 1000).toLocaleTimeString() : ""}`);
      $("marker-list").append(li);
      break;
    }
    case EventKind.SESSION_STARTED:
      $("marker-list").replaceChildren();
      void refreshSoon();
      break;
    case EventKind.SESSION_STOPPED:
      protoCountdown = null;
      calCountdown = null;
      void refreshSoon();
      break;
    case EventKind.SOURCE_CHANGED:
    case EventKind.SOURCE_REFUSED:
      $("replay-source").textContent = e.message;
      break;
    default: break;
  }
}

async function refreshSoon(): Promise<void> {
  try {
    status = await live.getStatus({});
    const entries = status.session?.montage ?? [];
    montage = entries.length > 0 ? new Set(entries.map((x) => x.channel)) : null;
    updateSessionLine();
  } catch { /* the poll reports errors */ }
}

// ---- controls ----
/** Runs an API call from a button: disables it meanwhile, shows the gRPC status message next to the control. */
function action(buttonId: string, errorId: string, run: () => Promise<void>): void {
  const button = $<HTMLButtonElement>(buttonId);
  button.addEventListener("click", async () => {
    const errorEl = $(errorId);
    errorEl.textContent = "";
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    try {
      await run();
    } catch (e) {
      errorEl.textContent = errorText(e);
    } finally {
      button.disabled = false;
      button.removeAttribute("aria-busy");
    }
  });
}

action("session-start", "session-error", async () => {
  const s = started = await sessions.startSession({ patientCode: $<HTMLInputElement>("patient").value.trim(), montagePreset: $<HTMLSelectElement>("montage").value });
  $("summary").hidden = true;
  $("marker-list").replaceChildren();
  $("cal-result").replaceChildren();
  const entries = s.montage;
  montage = entries.length > 0 ? new Set(entries.map((x) => x.channel)) : null;
  await refreshSoon();
});

// With a token the report is fetched with it (a plain link cannot carry the header) and shown from a blob: URL.
linkWithToken($<HTMLAnchorElement>("report-link"), $("report-error"));

action("session-stop", "session-error", async () => {
  const summary = await sessions.stopSession({});
  const dl = $("summary-figures");
  dl.replaceChildren();
  row(dl, "Patient", summary.session?.patientCode ?? "—");
  row(dl, "Duration", `${summary.durationSeconds.toFixed(1)} s`);
  row(dl, "Activation frames", String(summary.activationFrames));
  row(dl, "Samples lost", String(summary.lostSamples));
  row(dl, "Markers", String(summary.markers));
  for (const f of summaryFigures(summary.summaryJson)) row(dl, f.name, f.value);
  const link = $<HTMLAnchorElement>("report-link");
  link.href = summary.reportUrl;
  link.hidden = !summary.reportUrl;
  $("report-error").textContent = "";
  $("summary").hidden = false;
  $("summary").dataset.sessionId = summary.session?.sessionId ?? "";
  await refreshSoon();
});

function showCalibration(name: string, r: CalibrationResult): void {
  const box = $("cal-result");
  box.replaceChildren();
  const head = el("p", r.accepted ? "accepted" : "refused", `${name}: ${r.accepted ? "✓ accepted" : "✕ refused"}`);
  box.dataset.result = r.accepted ? "accepted" : "refused";
  box.append(head);
  const ul = el("ul");
  for (const x of r.refusals) ul.append(el("li", undefined, `${x.label || "All"}: ${x.reason}`));
  for (const [label, uv] of Object.entries(r.restUv)) ul.append(el("li", undefined, `${label}: rest ${uv.toFixed(1)} µV`));
  for (const c of r.calibrations) ul.append(el("li", undefined, `${c.label}: MVC ${c.mvcUv.toFixed(1)} µV (rest ${c.restUv.toFixed(1)} µV) — ${c.method}`));
  if (ul.childElementCount > 0) box.append(ul);
}

function calibrate(buttonId: string, name: () => string, step: CalibrationStep, label?: () => string): void {
  action(buttonId, "cal-error", async () => {
    const n = name();
    $("cal-progress").textContent = `${n}: starting…`;
    $("cal-progress").dataset.state = "running";
    try {
      showCalibration(n, await sessions.calibrate({ step, label: label?.() ?? "" }));
    } finally {
      calCountdown = null;
      if ($("cal-progress").dataset.state !== "done") { $("cal-progress").textContent = `${n}: ended`; $("cal-progress").dataset.state = "done"; }
    }
  });
}
calibrate("cal-signal", () => "Signal check", CalibrationStep.SIGNAL_CHECK);
calibrate("cal-rest", () => "Rest calibration", CalibrationStep.REST);
calibrate("cal-mvc", () => `MVC ${$<HTMLSelectElement>("mvc-muscle").value}`, CalibrationStep.MVC, () => $<HTMLSelectElement>("mvc-muscle").value);
action("cal-abort", "cal-error", async () => { await sessions.abort({}); });
action("cal-reuse", "cal-error", async () => {
  const stored = await sessions.reuseCalibration({});
  const box = $("cal-result");
  box.replaceChildren();
  box.dataset.result = "reused";
  const when = stored.savedAt ? new Date(Number(stored.savedAt.seconds) * 1000).toLocaleString() : "unknown date";
  box.append(el("p", "accepted", `✓ Stored calibration of ${stored.patientCode} (saved ${when}) reused`));
  const ul = el("ul");
  for (const m of stored.muscles) ul.append(el("li", undefined, `${m.label}: rest ${m.restUv.toFixed(1)} µV, MVC ${m.mvcUv.toFixed(1)} µV`));
  box.append(ul);
});

action("target-set", "target-error", async () => {
  const label = $<HTMLSelectElement>("target-muscle").value;
  const above = $<HTMLSelectElement>("target-direction").value === "above";
  const r = await sessions.setTarget({ label, direction: above ? TargetDirection.ABOVE : TargetDirection.BELOW, levelPct: Number($<HTMLInputElement>("target-level").value) });
  $("target-state").textContent = `Set: ${r.annotation}`;
});
action("target-clear", "target-error", async () => {
  const label = $<HTMLSelectElement>("target-muscle").value;
  const r = await sessions.setTarget({ label, direction: TargetDirection.NONE, levelPct: 0 });
  $("target-state").textContent = `Cleared: ${r.annotation}`;
});

async function loadProtocols(): Promise<void> {
  const list = await sessions.listProtocols({});
  const sel = $<HTMLSelectElement>("protocol");
  const keep = sel.value;
  sel.replaceChildren(...list.protocols.map((p) => {
    const o = document.createElement("option");
    o.value = p.name;
    const total = p.preBaselineSeconds + p.trials * (p.workSeconds + p.restSeconds) + p.postBaselineSeconds;
    o.textContent = `${p.name} — ${p.trials} × (${p.workSeconds} s work, ${p.restSeconds} s rest), ${total.toFixed(0)} s`;
    return o;
  }));
  if (list.protocols.some((p) => p.name === keep)) sel.value = keep;
  sel.dataset.count = String(list.protocols.length);
}
action("protocol-refresh", "protocol-error", loadProtocols);
action("protocol-start", "protocol-error", async () => {
  const r = await sessions.startProtocol({ name: $<HTMLSelectElement>("protocol").value });
  $("protocol-phase").textContent = r.running || "Started";
  $("protocol-phase").dataset.phase = "started";
});
action("protocol-pause", "protocol-error", async () => {
  await sessions.pauseProtocol({});
  if (protoCountdown) { protoCountdown.paused = true; protoCountdown.endsAt -= performance.now(); }
  $("protocol-count").textContent = "Paused";
});
action("protocol-resume", "protocol-error", async () => {
  await sessions.resumeProtocol({});
  if (protoCountdown?.paused) { protoCountdown.paused = false; protoCountdown.endsAt += performance.now(); }
});
action("protocol-abort", "protocol-error", async () => { await sessions.abort({}); });

action("marker-trick", "marker-error", async () => { await sessions.addMarker({ label: "sensory trick" }); });
action("marker-add", "marker-error", async () => {
  const input = $<HTMLInputElement>("marker-text");
  await sessions.addMarker({ label: input.value.trim() });
  input.value = "";
});

const seek = $<HTMLInputElement>("replay-seek");
action("replay-start", "replay-error", async () => {
  const r = await replays.startReplay({ file: $<HTMLInputElement>("replay-file").value.trim(), speed: Number($<HTMLInputElement>("replay-speed").value) });
  $("replay-state").textContent = `Replaying ${r.file} at ${r.speed}× (${r.durationSeconds.toFixed(0)} s) — ${r.link}`;
  seek.max = String(Math.floor(r.durationSeconds));
  seek.value = String(Math.floor(r.startSeconds));
  seek.disabled = false;
  $("replay-pos").textContent = `${seek.value} s`;
});
action("replay-stop", "replay-error", async () => {
  const r = await replays.stopReplay({});
  $("replay-state").textContent = `Not replaying — ${r.link}`;
  seek.disabled = true;
});
seek.addEventListener("input", () => { $("replay-pos").textContent = `${seek.value} s`; });
seek.addEventListener("change", async () => {
  $("replay-error").textContent = "";
  try {
    const r = await replays.seekReplay({ seconds: Number(seek.value) });
    $("replay-state").textContent = `Replaying ${r.file} from ${r.startSeconds.toFixed(0)} s`;
  } catch (e) {
    $("replay-error").textContent = errorText(e);
  }
});

// Muscle pickers follow the montage's labels (from the frames).
let musclesKey = "";
function updateMusclePickers(): void {
  const labels = (latest?.muscles ?? []).filter((m) => montage === null || montage.has(m.channel)).map((m) => m.label);
  const key = labels.join("\u0001");
  if (key === musclesKey) return;
  musclesKey = key;
  for (const id of ["mvc-muscle", "target-muscle"]) {
    const sel = $<HTMLSelectElement>(id);
    const keep = sel.value;
    sel.replaceChildren(...labels.map((l) => { const o = document.createElement("option"); o.value = l; o.textContent = l; return o; }));
    if (labels.includes(keep)) sel.value = keep;
  }
}

// ---- the draw loop ----
const linkEl = $("link");
const bannerEl = $("source-banner");
let lastDraw = 0;
function tick(countdown: Countdown | null, now: number): void {
  if (!countdown) return;
  const left = countdown.paused ? Math.ceil(countdown.endsAt / 1000) : Math.max(0, Math.ceil((countdown.endsAt - now) / 1000));
  const text = `${countdown.text} — ${left} s left${countdown.paused ? " (paused)" : ""}`;
  if (countdown.el.textContent !== text) countdown.el.textContent = text;
}
function draw(now: number): void {
  const link: "up" | "stale" | "unreachable" = !liveUp && !statusUp ? "unreachable"
    : !boardConnected || now - latestArrivedAt > STALE_AFTER_MS ? "stale" : "up";
  const linkText = link === "up" ? (sourceKind === SourceKind.REPLAY ? "Playing" : "Live") : link === "stale" ? (boardConnected ? "No signal from the board" : "Board disconnected — no signal")
    : everConnected ? "Service unreachable — reconnecting…" : "Connecting to the service…";
  if (linkEl.textContent !== linkText) { linkEl.textContent = linkText; linkEl.classList.toggle("down", link !== "up"); document.body.dataset.link = link; }
  const banner = sourceBanner(sourceKind);
  if ((banner ?? "") !== bannerEl.textContent) bannerEl.textContent = banner ?? "";
  bannerEl.hidden = banner === null;
  tick(calCountdown, now);
  tick(protoCountdown, now);
  updateMusclePickers();
  // Charts at 10 Hz: enough for a 5-s trace, kind to the station's CPU.
  if (now - lastDraw >= 100) { lastDraw = now; drawChannels(link); }
  requestAnimationFrame(draw);
}

window.addEventListener("resize", () => { const w = chartWidth(); for (const v of channels.values()) { v.wave.setSize({ width: w, height: WAVE_HEIGHT }); v.env.setSize({ width: w, height: ENV_HEIGHT }); } });

requestAnimationFrame(draw);
void runLive();
void runWaveform();
void pollStatus();
void loadProtocols().catch((e) => { $("protocol-error").textContent = errorText(e); });
