// Vite build of the Rollcall UI into dist/ (served by `rollcall serve` at /).
// `npm run dev` proxies the API to a server on ROLLCALL_API (default
// http://127.0.0.1:8080) so the UI can be developed against the real backend.
import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';

const api = process.env.ROLLCALL_API ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', sourcemap: false, chunkSizeWarningLimit: 900 },
  server: {
    proxy: {
      '/api': { target: api, changeOrigin: false },
      '/healthz': { target: api },
    },
  },
  test: { include: ['src/**/*.test.ts'], environment: 'node' },
});
