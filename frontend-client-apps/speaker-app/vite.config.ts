import { defineConfig } from 'vite';

export default defineConfig({
  base: '/speaker/',
  // amazon-cognito-identity-js expects Node's `global`.
  define: { global: 'globalThis' },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022' },
  server: { proxy: { '/ws': { target: 'ws://127.0.0.1:8080', ws: true }, '/config.json': 'http://127.0.0.1:8080', '/dev': 'http://127.0.0.1:8080' } },
});
