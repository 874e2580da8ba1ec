// The bundle goes where the Server's MSBuild target asks (DISPLAY_OUT_DIR: the server's output folder "display"),
// else into dist/. Two pages: the patient view (index.html, served at /) and the clinician view (clinician.html, /clinician).
// File names are fingerprinted; no CDN, everything is bundled.
import { resolve } from "node:path";
import { defineConfig } from "vite";

export default defineConfig({
  base: "./",
  build: {
    outDir: process.env.DISPLAY_OUT_DIR ?? "dist",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    reportCompressedSize: false,
    rollupOptions: {
      input: { main: resolve(import.meta.dirname, "index.html"), clinician: resolve(import.meta.dirname, "clinician.html") },
    },
  },
});
