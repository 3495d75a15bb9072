// ESM recipe (DESIGN §8): ts-jest's ESM preset under --experimental-vm-modules, because @octokit/* ship ESM only.
/** @type {import('jest').Config} */
export default {
  preset: "ts-jest/presets/default-esm",
  testEnvironment: "node",
  roots: [
    "<rootDir>/shared",
    "<rootDir>/functions",
    "<rootDir>/local",
    "<rootDir>/of-builder",
    "<rootDir>/edge-router",
    "<rootDir>/test",
  ],
  testMatch: ["**/*.test.ts"],
  moduleNameMapper: { "^(\\.{1,2}/.*)\\.js$": "$1" },
  transform: {
    "^.+\\.ts$": ["ts-jest", { useESM: true, tsconfig: "tsconfig.json", diagnostics: false }],
  },
  testTimeout: 30000,
  // Each run gets a temp folder of its own (TMPDIR), and fails if its tests left anything in it (issue #18).
  globalSetup: "<rootDir>/test/support/temp-folder-setup.ts",
  globalTeardown: "<rootDir>/test/support/temp-folder-teardown.ts",
  // The end-to-end suites own daemons (dockerd, NATS, the registry). Should one ever leak a handle after a failure,
  // the run must still end with its report instead of waiting for CI's time limit (it once did, for 70 minutes).
  forceExit: true,
};
