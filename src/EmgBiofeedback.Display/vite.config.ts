// The bundle goes where the Server's MSBuild target asks (DISPLAY_OUT_DIR: the server's output folder "display"),
// else into dist/. File names are fingerprinted; no CDN, everything is bundled.
import { defineConfig } from "vite";

export default defineConfig({
  base: "./",
  build: {
    outDir: process.env.DISPLAY_OUT_DIR ?? "dist",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    reportCompressedSize: false,
  },
});
