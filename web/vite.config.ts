// `npm run build:web` → web/dist, what the ingress serves at / (deploy/ingress/Caddyfile).
// No dev server proxy: bid-service's API speaks HTTP/2 without TLS (h2c), which Vite's proxy
// does not; run the page behind the real ingress instead (`npm run demo`).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  // The generated API client lives in ../runtime/gen; Vite may read it.
  server: { fs: { allow: [fileURLToPath(new URL('..', import.meta.url))] } },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022' },
});
