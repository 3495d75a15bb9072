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
};
