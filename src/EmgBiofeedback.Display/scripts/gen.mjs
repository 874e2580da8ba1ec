// Generates TypeScript for the service's protos (emg/v1/*.proto) into src/gen with the protoc that the
// Grpc.Tools NuGet package brings (no download) and protoc-gen-es from node_modules.
// protoc: $PROTOC if set (the Server's MSBuild target sets it from the NuGet package root), else
// <NUGET_PACKAGES or ~/.nuget/packages>/grpc.tools/<version in Directory.Packages.props>/tools/<os>_<arch>/protoc.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const project = resolve(here, "..");
const repo = resolve(project, "..", "..");
const protoRoot = join(repo, "src", "EmgBiofeedback.Contracts", "Protos");

const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  console.error(`Node ${process.versions.node} is too old for the display build: Node >= 20.19 is needed (Vite 8).`);
  process.exit(1);
}

export function findProtoc() {
  if (process.env.PROTOC) return process.env.PROTOC;
  const props = readFileSync(join(repo, "Directory.Packages.props"), "utf8");
  const m = /Include="Grpc\.Tools"\s+Version="([^"]+)"/.exec(props);
  if (!m) throw new Error("Grpc.Tools version not found in Directory.Packages.props");
  const root = process.env.NUGET_PACKAGES ?? join(homedir(), ".nuget", "packages");
  const os = process.platform === "win32" ? "windows" : process.platform === "darwin" ? "macosx" : "linux";
  const arch = process.arch === "x64" ? "x64" : process.arch === "arm64" ? "arm64" : "x86";
  const exe = process.platform === "win32" ? "protoc.exe" : "protoc";
  return join(root, "grpc.tools", m[1], "tools", `${os}_${arch}`, exe);
}

const protoc = findProtoc();
if (!existsSync(protoc)) {
  console.error(`protoc not found at ${protoc}: run 'dotnet restore' first (Grpc.Tools brings it) or set PROTOC.`);
  process.exit(1);
}
const include = resolve(dirname(protoc), "..", "..", "build", "native", "include");
const out = join(project, "src", "gen");
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const protos = readdirSync(join(protoRoot, "emg", "v1")).filter((f) => f.endsWith(".proto")).map((f) => join(protoRoot, "emg", "v1", f));
const plugin = join(project, "node_modules", ".bin", process.platform === "win32" ? "protoc-gen-es.cmd" : "protoc-gen-es");
execFileSync(protoc, [
  `-I${protoRoot}`, `-I${include}`,
  `--plugin=protoc-gen-es=${plugin}`, `--es_out=${out}`, "--es_opt=target=ts",
  ...protos,
], { stdio: "inherit" });
console.log(`Generated ${protos.length} protos into src/gen with ${protoc}`);
