#!/usr/bin/env node
// Runs the TypeScript CLI through tsx, so `npx flowtap` works right after `npm ci`.
require("tsx/cjs/api").register();
const { flowtapProgram } = require("../cli/main.ts");

// A reader that goes away (`flowtap query … | head`) ends the command as SIGPIPE ends other
// tools: at once, without a word, with status 128 + 13.
process.stdout.on("error", (err) => {
  if (err.code === "EPIPE") process.exit(141);
  throw err;
});

flowtapProgram()
  .parseAsync(process.argv)
  .catch((err) => {
    console.error(`flowtap: ${err.message}`);
    process.exitCode = 1;
  });
