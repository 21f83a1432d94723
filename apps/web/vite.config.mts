import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The dashboard builds into dist/apps/web, which api-gateway serves at / (WEB_DIST_DIR). `vite` alone serves it
// with the API and the notifier proxied to their default ports.
const here = dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  root: here,
  base: '/',
  build: { outDir: resolve(here, '../../dist/apps/web'), emptyOutDir: true, target: 'es2022', sourcemap: false },
  server: {
    port: 5173,
    proxy: { '/api': 'http://127.0.0.1:3000', '/socket.io': { target: 'ws://127.0.0.1:3004', ws: true } },
  },
});
