#!/usr/bin/env node
// Runs the TypeScript CLI through tsx, so `npx flowtap` works right after `npm ci`.
require("tsx/cjs/api").register();
const { flowtapProgram } = require("../cli/main.ts");

flowtapProgram()
  .parseAsync(process.argv)
  .catch((err) => {
    console.error(`flowtap: ${err.message}`);
    process.exitCode = 1;
  });
