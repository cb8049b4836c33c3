import { configDefaults, defineConfig } from 'vitest/config';

/**
 * The file that runs two bot processes on one Redis, kills one mid-burst and counts every
 * acknowledgement. It runs last and alone: sharing the two cores with other end-to-end files
 * starves a process past Discord's 3-second deadline, which is the machine failing, not the bot.
 */
const MULTI_PROCESS = ['tests/e2e/cluster.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // End-to-end suites open real sockets and start real servers: keep them from
    // fighting over the machine's two cores.
    maxWorkers: 2,
    minWorkers: 1,
    projects: [
      {
        extends: true,
        test: { name: 'in-process', include: ['tests/**/*.test.ts'], exclude: [...configDefaults.exclude, ...MULTI_PROCESS], sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: { name: 'multi-process', include: MULTI_PROCESS, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
