import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // End-to-end suites open real sockets and start real servers: keep them from
    // fighting over the machine's two cores.
    maxWorkers: 2,
    minWorkers: 1,
  },
});
