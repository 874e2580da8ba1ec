// Patient view: one bar per muscle, newest frame only per animation frame, never stale.
// Two server streams at most (StreamActivation + StreamEvents) plus a unary GetStatus on each (re)connection.
import { createClient } from "@connectrpc/connect";
import { EventKind, Live, Phase, TargetState, type ActivationFrame, type Event, type MuscleActivation, SourceKind } from "./gen/emg/v1/live_pb";
import { transport } from "./client";
import { recordArrived, recordDrawn, type ProbeBar } from "./probe";
import { STALE_AFTER_MS, backoffMs, balance, describe, groupMuscles, sourceBanner, type BarView } from "./model";

const live = createClient(Live, transport);

// ---- what the streams tell us (written by the stream loops, read by the draw loop) ----
let latest: ActivationFrame | undefined;
let latestArrivedAt = 0;
let activationUp = false;
// The service answers even with no board (GetStatus, the event stream): reachable, so the link line can say the
// board is missing instead of "Connecting…" forever when no frame ever comes.
let serviceUp = false;
let everConnected = false;
let boardConnected = true;
let sourceKind: SourceKind | undefined;
/** The open session's montage channels (only they get bars); null without a session: every channel. */
let montage: Set<number> | null = null;
interface Prompt { title: string; instruction: string; endsAt: number }
let prompt: Prompt | null = null;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function runActivation(): Promise<never> {
  let failures = 0;
  for (;;) {
    try {
      for await (const frame of live.streamActivation({})) {
        latest = frame;
        latestArrivedAt = performance.now();
        recordArrived(frame, latestArrivedAt);
        activationUp = true;
        everConnected = true;
        failures = 0;
        sourceKind = frame.sourceKind;
      }
    } catch {
      // Unreachable service, stream cut: reported by the draw loop, retried below.
    }
    activationUp = false;
    failures++;
    await sleep(backoffMs(failures));
  }
}

async function runEvents(): Promise<never> {
  let failures = 0;
  for (;;) {
    try {
      await refreshStatus();
      serviceUp = true;
      everConnected = true;
      failures = 0;
      for await (const e of live.streamEvents({})) onEvent(e);
    } catch {
      // retried below
    }
    serviceUp = false;
    failures++;
    await sleep(backoffMs(failures));
  }
}

async function refreshStatus(): Promise<void> {
  const status = await live.getStatus({});
  boardConnected = status.connected;
  sourceKind = status.sourceKind;
  const entries = status.session?.montage ?? [];
  montage = entries.length > 0 ? new Set(entries.map((e) => e.channel)) : null;
}

const PHASE_NAMES: Partial<Record<Phase, string>> = {
  [Phase.BASELINE_PRE]: "Baseline",
  [Phase.WORK]: "Work",
  [Phase.REST]: "Rest",
  [Phase.BASELINE_POST]: "Final baseline",
};

function onEvent(e: Event): void {
  const now = performance.now();
  switch (e.kind) {
    case EventKind.CONNECTED: boardConnected = true; break;
    case EventKind.DISCONNECTED: boardConnected = false; break;
    case EventKind.PROTOCOL_PHASE:
      if (e.phase === Phase.DONE) { prompt = null; break; }
      prompt = {
        title: `${PHASE_NAMES[e.phase] ?? "Phase"}${e.trials > 0 && e.trial > 0 ? ` ${e.trial} of ${e.trials}` : ""}`,
        instruction: e.instruction || e.message,
        endsAt: now + e.secondsLeft * 1000,
      };
      break;
    case EventKind.CALIBRATION_PROMPT:
      prompt = {
        title: `Calibration${e.trials > 0 && e.trial > 0 ? ` ${e.trial} of ${e.trials}` : ""}`,
        instruction: e.instruction || e.message,
        endsAt: now + e.secondsLeft * 1000,
      };
      break;
    case EventKind.CALIBRATION_RESULT: if (e.stepDone) prompt = null; break;
    case EventKind.SESSION_STOPPED: prompt = null; void refreshStatus().catch(() => undefined); break;
    case EventKind.SESSION_STARTED: void refreshStatus().catch(() => undefined); break;
    default: break;
  }
}

// ---- DOM ----
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const musclesEl = $("muscles");
// Until the first frame lays out the bars, the muscles area says in large words why it is empty: a patient looks
// here, not at the link line (the board never plugged in, the service not reached yet, or the first frame coming).
const emptyEl = el("p", "muscles-empty", "Connecting…");
emptyEl.id = "muscles-empty";
musclesEl.append(emptyEl);
const linkEl = $("link");
const bannerEl = $("source-banner");
const promptEl = $("prompt");
const startBtn = $<HTMLButtonElement>("start");
const muteBtn = $<HTMLButtonElement>("mute");

interface BarDom { root: HTMLElement; track: HTMLElement; fill: HTMLElement; zone: HTMLElement; value: HTMLElement; cue: HTMLElement; last: string }
interface BalanceDom { left: string; right: string; mark: HTMLElement; text: HTMLElement; last: string }
const bars = new Map<string, BarDom>();
const balances: BalanceDom[] = [];
const peakUv = new Map<string, number>();
let layoutKey = "";

function el(tag: string, cls?: string, text?: string): HTMLElement {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function makeBar(label: string, caption: string): HTMLElement {
  const root = el("div", "bar");
  root.dataset.label = label;
  root.append(el("div", "bar-label", caption));
  const track = el("div", "bar-track");
  track.setAttribute("role", "meter");
  track.setAttribute("aria-label", label);
  track.setAttribute("aria-valuemin", "0");
  track.setAttribute("aria-valuemax", "100");
  track.setAttribute("aria-valuenow", "0");
  const fill = el("div", "bar-fill");
  const zone = el("div", "bar-zone");
  track.append(fill, zone);
  const value = el("div", "bar-value", "—");
  const cue = el("div", "bar-cue");
  root.append(track, value, cue);
  bars.set(label, { root, track, fill, zone, value, cue, last: "" });
  return root;
}

function layout(labels: string[]): void {
  musclesEl.replaceChildren();
  bars.clear();
  balances.length = 0;
  groupMuscles(labels).forEach((g, i) => {
    const group = el("div", "group");
    group.setAttribute("role", "group");
    const h = el("h2", undefined, g.name);
    h.id = `group-${i}`;
    group.setAttribute("aria-labelledby", h.id);
    const pair = el("div", "pair");
    group.append(h, pair);
    if (g.single) {
      pair.append(makeBar(g.single, ""));
    } else {
      pair.append(makeBar(g.left!, `Left · ${g.left}`), makeBar(g.right!, `Right · ${g.right}`));
      const b = el("div", "balance");
      const track = el("div", "balance-track");
      track.setAttribute("role", "img");
      const mark = el("div", "balance-mark");
      track.append(mark);
      const text = el("p", "balance-text", "Balance: —");
      b.append(track, text);
      group.append(b);
      balances.push({ left: g.left!, right: g.right!, mark, text, last: "" });
      track.setAttribute("aria-label", `${g.name} left/right balance`);
    }
    musclesEl.append(group);
  });
}

function drawBar(dom: BarDom, v: BarView): void {
  const key = `${v.kind}|${v.value.toFixed(2)}|${v.headline}|${v.fill.toFixed(3)}|${v.look?.key}|${v.zone?.from}|${v.zone?.to}`;
  if (key === dom.last) return;
  dom.last = key;
  dom.root.dataset.kind = v.kind;
  dom.root.dataset.state = v.look?.key ?? "none";
  dom.root.dataset.value = Number.isNaN(v.value) ? "" : v.value.toFixed(2);
  dom.fill.style.height = `${(v.fill * 100).toFixed(1)}%`;
  dom.fill.style.background = v.look?.colour ?? "transparent";
  if (v.zone) {
    dom.zone.style.display = "block";
    dom.zone.style.bottom = `${(v.zone.from * 100).toFixed(1)}%`;
    dom.zone.style.height = `${((v.zone.to - v.zone.from) * 100).toFixed(1)}%`;
    dom.zone.className = `bar-zone ${v.zone.from > 0 ? "above-zone" : "below-zone"}`;
  } else {
    dom.zone.style.display = "none";
  }
  dom.value.textContent = v.headline;
  dom.track.setAttribute("aria-valuenow", v.kind === "value" ? String(Math.round(v.fill * 100)) : "0");
  dom.track.setAttribute("aria-valuetext", v.kind === "value" ? `${v.headline}, ${v.look?.words ?? ""}` : v.headline);
  if (v.kind === "value" && v.look) {
    const icon = el("span", "icon", v.look.icon);
    icon.setAttribute("aria-hidden", "true");
    dom.cue.replaceChildren(icon, el("span", "words", v.look.words));
  } else {
    dom.cue.replaceChildren(el("span", "words", v.kind === "no-signal" || v.kind === "unreachable" ? "Not live" : "Check the sensor"));
  }
}

function drawBalance(b: BalanceDom, frame: ActivationFrame | undefined, link: "up" | "unreachable" | "stale"): void {
  const find = (l: string) => frame?.muscles.find((m) => m.label === l);
  const bal = link === "up" ? balance(find(b.left), find(b.right)) : null;
  const text = bal ? bal.text : "Balance: not available now";
  const pos = bal ? (1 - bal.leftShare) * 100 : 50;
  const key = `${text}|${pos.toFixed(0)}`;
  if (key === b.last) return;
  b.last = key;
  b.text.textContent = text;
  // The mark leans toward the more active side: left share 100 % → far left.
  b.mark.style.left = `${bal ? pos.toFixed(0) : 50}%`;
  b.mark.style.visibility = bal ? "visible" : "hidden";
}

// ---- sound: a contingent tone while a muscle is above its target (pitch rises with %MVC), behind Start ----
let audio: AudioContext | null = null;
let osc: OscillatorNode | null = null;
let gain: GainNode | null = null;
let muted = false;
let sounding = false;

startBtn.addEventListener("click", async () => {
  audio = new AudioContext();
  await audio.resume();
  osc = audio.createOscillator();
  gain = audio.createGain();
  gain.gain.value = 0;
  osc.type = "sine";
  osc.frequency.value = 330;
  osc.connect(gain).connect(audio.destination);
  osc.start();
  startBtn.hidden = true;
  muteBtn.hidden = false;
  muteBtn.focus();
});
muteBtn.addEventListener("click", () => {
  muted = !muted;
  muteBtn.setAttribute("aria-pressed", String(muted));
  muteBtn.textContent = muted ? "Unmute" : "Mute";
});

function updateTone(muscles: MuscleActivation[], link: string): void {
  if (!audio || !osc || !gain) return;
  const above = link === "up" ? muscles.filter((m) => m.valid && m.quality === 0 && m.target === TargetState.ABOVE) : [];
  const on = !muted && above.length > 0;
  if (on) {
    const pct = Math.max(...above.map((m) => m.mvcPercent ?? 0));
    osc.frequency.setTargetAtTime(Math.min(800, 300 + 4 * pct), audio.currentTime, 0.03);
  }
  if (on !== sounding) {
    gain.gain.setTargetAtTime(on ? 0.15 : 0, audio.currentTime, 0.02);
    sounding = on;
    document.body.dataset.sound = on ? "on" : "off";
  }
}

// ---- the draw loop: newest frame only ----
let lastLink = "";
function draw(): void {
  const now = performance.now();
  const link: "up" | "unreachable" | "stale" = !activationUp && !serviceUp ? "unreachable"
    : !boardConnected || now - latestArrivedAt > STALE_AFTER_MS ? "stale" : "up";
  const frame = latest;
  const shown = frame ? frame.muscles.filter((m) => montage === null || montage.has(m.channel)) : [];
  if (frame) {
    const labels = shown.map((m) => m.label);
    const key = labels.join("\u0001");
    if (key !== layoutKey) { layoutKey = key; layout(labels); }
  }
  const byLabel = new Map(shown.map((m) => [m.label, m]));
  const probe: ProbeBar[] = [];
  for (const [label, dom] of bars) {
    const m = byLabel.get(label);
    if (m && m.valid && m.mvcPercent === undefined) peakUv.set(label, Math.max(peakUv.get(label) ?? 0, m.rmsMicrovolts));
    const scale = Math.max(100, Math.ceil((peakUv.get(label) ?? 0) / 50) * 50);
    const view = describe(m, link, scale);
    drawBar(dom, view);
    probe.push({ label, kind: view.kind, state: view.look?.key ?? "none", value: view.value });
  }
  // Drawn: the bars' DOM now holds the frame; the browser paints it when this callback returns.
  if (frame && link === "up") recordDrawn(frame, performance.now(), probe);
  for (const b of balances) drawBalance(b, frame, link);

  const linkText = link === "up" ? (sourceKind === SourceKind.REPLAY ? "Playing" : "Live")
    : link === "stale" ? (boardConnected ? "No signal from the board" : "Board disconnected — no signal")
    : everConnected ? "Service unreachable — reconnecting…" : "Connecting to the service…";
  if (linkText !== lastLink) {
    lastLink = linkText;
    linkEl.textContent = linkText;
    linkEl.classList.toggle("down", link !== "up");
    document.body.dataset.link = link;
  }

  if (bars.size === 0) {
    const why = link === "unreachable" ? linkText
      : boardConnected ? "Waiting for the first signal from the board…"
      : "The sensor board is not connected. Check its USB cable: the muscles appear here as soon as it sends.";
    if (emptyEl.textContent !== why) emptyEl.textContent = why;
  }

  const banner = sourceBanner(sourceKind);
  if ((banner ?? "") !== bannerEl.textContent) bannerEl.textContent = banner ?? "";
  bannerEl.hidden = banner === null;

  if (prompt) {
    promptEl.hidden = false;
    $("prompt-phase").textContent = prompt.title;
    $("prompt-text").textContent = prompt.instruction;
    const left = Math.max(0, Math.ceil((prompt.endsAt - now) / 1000));
    const count = `${left} s`;
    const countEl = $("prompt-count");
    if (countEl.textContent !== count) countEl.textContent = count;
  } else {
    promptEl.hidden = true;
  }
  updateTone(frame?.muscles ?? [], link);
  requestAnimationFrame(draw);
}

requestAnimationFrame(draw);
void runActivation();
void runEvents();
