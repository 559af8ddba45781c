/**
 * Jest runs the TypeScript sources through ts-jest as CommonJS: it keeps
 * jest.mock-free fake timers simple and needs no --experimental-vm-modules.
 * Type checking is `npm run typecheck`'s job, so ts-jest only transpiles.
 * @type {import('jest').Config}
 */
export default {
  testEnvironment: 'node',
  roots: ['<rootDir>/__tests__'],
  testMatch: ['**/*.test.ts'],
  moduleNameMapper: {
    // Sources import './x.js' (NodeNext ESM); under jest the file is './x.ts'.
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  transform: {
    '^.+\\.ts$': [
      'ts-jest',
      {
        tsconfig: {
          isolatedModules: true,
          module: 'commonjs',
          moduleResolution: 'node10',
          ignoreDeprecations: '6.0',
          target: 'ES2022',
          esModuleInterop: true,
          sourceMap: true,
        },
        diagnostics: false,
      },
    ],
  },
  testTimeout: 60_000,
  // Two workers, each restarted once it holds over 1 GB after a file: run in one process (what
  // jest does on 2 cores by default) the heap grew file after file until a fresh CI clone ran
  // out of memory in serial-queue.scale.
  maxWorkers: 2,
  workerIdleMemoryLimit: '1GB',
};
