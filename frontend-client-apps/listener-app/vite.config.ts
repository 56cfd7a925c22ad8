import { defineConfig } from 'vite';

export default defineConfig({
  base: '/listener/',
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022' },
  server: { proxy: { '/ws': { target: 'ws://127.0.0.1:8080', ws: true }, '/config.json': 'http://127.0.0.1:8080', '/s3': 'http://127.0.0.1:8080' } },
});
