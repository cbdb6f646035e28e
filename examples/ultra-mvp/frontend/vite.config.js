import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// /config.js is generated at run time by serve.py (API_BASE_URL); it is not part of the build.
export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "dist",
    sourcemap: false,
    assetsDir: "assets",
  },
});
