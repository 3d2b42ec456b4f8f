/** TypeScript is transformed by swc without type-checking; `npm run typecheck` does that once. */
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/__tests__"],
  testMatch: ["**/*.test.ts"],
  // Synthesis bundles handlers with esbuild; give the first test of a file room for it.
  testTimeout: 30000,
  // Two workers on two cores: the Terraform test spends most of its time waiting on terraform
  // processes, and the other files run beside it.
  maxWorkers: 2,
  transform: {
    "^.+\\.(t|j|mj)s$": ["@swc/jest", { jsc: { target: "es2022" }, module: { type: "commonjs" } }],
  },
  // ESM-only dependencies are transformed to CommonJS like our own code.
  transformIgnorePatterns: ["/node_modules/(?!(p-limit|yocto-queue)/)"],
  globalSetup: "<rootDir>/__tests__/global-setup.ts",
  globalTeardown: "<rootDir>/__tests__/global-teardown.ts",
  setupFiles: ["<rootDir>/__tests__/setup.ts"],
  setupFilesAfterEnv: ["<rootDir>/__tests__/setup-after-env.ts"],
};
