// Test harness: the real service (built dll, free loopback ports, a temporary recordings folder, simulated board),
// headless Debian chromium through playwright-core, and gRPC-Web clients generated at test time (protoc from the
// Grpc.Tools NuGet package + protoc-gen-es, target js).
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { homedir, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const here = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const repo = resolve(here, "..", "..");
export const outputDir = join(here, "output");

/** A program built with the solution (Debug or Release), or the path in the environment variable that overrides it. */
function builtDll(envVar, project, dll) {
  if (process.env[envVar]) return process.env[envVar];
  for (const config of ["Debug", "Release"]) {
    const path = join(repo, "src", project, "bin", config, "net10.0", dll);
    if (existsSync(path)) return path;
  }
  throw new Error(`${dll} not built: run 'dotnet build EmgBiofeedback.sln' first.`);
}

export const serverDll = () => builtDll("EMG_SERVER_DLL", "EmgBiofeedback.Server", "EmgBiofeedback.Server.dll");

/** The `emg` command-line tool. */
export const cliDll = () => builtDll("EMG_CLI_DLL", "EmgBiofeedback.Cli", "emg.dll");

export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

/** Starts the service (extraArgs: more configuration switches); resolves when it has printed the patient display's address. */
export function startServer({ grpcPort, browserPort, folder, timeoutMs = 60000, extraArgs = [] }) {
  const child = spawn("dotnet", [serverDll(),
    `--Api:GrpcUrl=http://127.0.0.1:${grpcPort}`,
    `--Api:BrowserUrl=http://127.0.0.1:${browserPort}`,
    `--Recording:Folder=${folder}`,
    "--Logging:LogLevel:Default=Information", ...extraArgs], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, DOTNET_NOLOGO: "1" } });
  let log = "";
  const server = { child, log: () => log, displayLine: "" };
  return new Promise((res, rej) => {
    const timer = setTimeout(() => { child.kill("SIGKILL"); rej(new Error(`service did not announce the display within ${timeoutMs} ms:\n${log}`)); }, timeoutMs);
    const onData = (d) => {
      log += d.toString();
      const m = /Patient display on (\S+)/.exec(log);
      if (m && !server.displayLine) {
        server.displayLine = m[0];
        server.url = m[1];
        clearTimeout(timer);
        res(server);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("exit", (code) => { clearTimeout(timer); if (!server.displayLine) rej(new Error(`service exited (${code}) before announcing the display:\n${log}`)); });
  });
}

export function stopServer(server, signal = "SIGTERM") {
  if (!server || server.child.exitCode !== null || server.child.signalCode !== null) return Promise.resolve();
  return new Promise((res) => {
    const t = setTimeout(() => server.child.kill("SIGKILL"), 10000);
    server.child.once("exit", () => { clearTimeout(t); res(); });
    server.child.kill(signal);
  });
}

export function tempFolder(prefix) {
  return mkdtempSync(join(tmpdir(), prefix));
}

function findProtoc() {
  if (process.env.PROTOC) return process.env.PROTOC;
  const props = readFileSync(join(repo, "Directory.Packages.props"), "utf8");
  const version = /Include="Grpc\.Tools"\s+Version="([^"]+)"/.exec(props)?.[1];
  const root = process.env.NUGET_PACKAGES ?? join(homedir(), ".nuget", "packages");
  const platform = `${process.platform === "darwin" ? "macosx" : process.platform === "win32" ? "windows" : "linux"}_${process.arch === "arm64" ? "arm64" : "x64"}`;
  return join(root, "grpc.tools", version ?? "?", "tools", platform, process.platform === "win32" ? "protoc.exe" : "protoc");
}

/** Generates JS for the service's protos into gen/ and imports the services. */
export async function loadApi() {
  const protoc = findProtoc();
  if (!existsSync(protoc)) throw new Error(`protoc not found at ${protoc}: run 'dotnet restore' (Grpc.Tools brings it) or set PROTOC.`);
  const protoRoot = join(repo, "src", "EmgBiofeedback.Contracts", "Protos");
  const out = join(here, "gen");
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const protos = readdirSync(join(protoRoot, "emg", "v1")).filter((f) => f.endsWith(".proto")).map((f) => join(protoRoot, "emg", "v1", f));
  execFileSync(protoc, [`-I${protoRoot}`, `-I${resolve(dirname(protoc), "..", "..", "build", "native", "include")}`,
    `--plugin=protoc-gen-es=${join(here, "node_modules", ".bin", "protoc-gen-es")}`, `--es_out=${out}`, "--es_opt=target=js,import_extension=js", ...protos]);
  const live = await import(join(out, "emg", "v1", "live_pb.js"));
  const sessions = await import(join(out, "emg", "v1", "sessions_pb.js"));
  return { live, sessions };
}

export const chromiumArgs = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
  "--disable-sync", "--disable-quic", "--no-first-run", "--autoplay-policy=no-user-gesture-required"];

/** A fresh headless chromium (its own user-data-dir); bypassCSP lets the test inject axe-core. */
export async function launchBrowser() {
  const { chromium } = await import("playwright-core");
  const profile = tempFolder("emg-display-profile-");
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: chromiumArgs,
    bypassCSP: true,
    viewport: { width: 1280, height: 900 },
  });
  return { context, profile, close: async () => { await context.close(); rmSync(profile, { recursive: true, force: true }); } };
}

/** One headless chromium for several fresh contexts (browser.newContext(): each with its own storage, like a new browser). */
export async function launchChromium() {
  const { chromium } = await import("playwright-core");
  return chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", headless: true, args: chromiumArgs });
}
