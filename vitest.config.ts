import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "examples/**/*.test.ts"],
    // WebGPU suites share one software device per file; lavapipe is slow, so give them room.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
  },
});
