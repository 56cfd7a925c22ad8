import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['shared/test/**/*.test.ts', 'speaker-app/test/**/*.test.ts', 'listener-app/test/**/*.test.ts'],
    environment: 'node',
  },
});
