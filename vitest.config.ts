import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // e2e suites start real servers (fraudwall, Unbound, Prometheus); two cores do not want more than two at once.
    maxWorkers: 2,
  },
});
