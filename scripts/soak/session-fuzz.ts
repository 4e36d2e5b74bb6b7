/**
 * The in-process fuzz of `test/hardening/fuzz-session.ts` at soak size:
 * `--cases` (default 1,000,000) fuzzed handshakes through `runSession` on
 * the runtime running this script, with every check of the suite's
 * version. `scripts/soak/fuzz.ts` runs it on each runtime before its
 * socket phases.
 *
 * Usage: bun scripts/soak/session-fuzz.ts [--cases N] [--seed N]
 *        deno run -A --config deno.json scripts/soak/session-fuzz.ts [--cases N] [--seed N]
 * Exit status 0 when every check passed.
 *
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { runSessionFuzz } from "../../test/hardening/fuzz-session.ts";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    cases: { type: "string", default: "1000000" },
    seed: { type: "string", default: String(Date.now() % 2 ** 31) },
  },
});
const cases = Number(values.cases);
const seed = Number(values.seed);
const s = await runSessionFuzz({ count: cases, seed, deadlineMs: 3_600_000 });
const problems = [
  ...s.failureSamples,
  ...(s.cases === cases ? [] : [`${s.cases} of ${cases} cases ran`]),
  ...(s.hung === 0 ? [] : [`${s.hung} sessions did not settle`]),
  ...s.unhandled.map((u) => `unhandled rejection: ${u}`),
  ...s.logProblems.map((l) => `log: ${l}`),
  ...(s.activeAfter === 0 ? [] : [`proxy_active_connections ${s.activeAfter} after the run`]),
  ...(s.timersLeft === 0 ? [] : [`${s.timersLeft} timers left pending`]),
  ...(s.echoOpen === 0 ? [] : [`${s.echoOpen} connections left at the echo target`]),
];
process.stderr.write(
  `  in-process fuzz: ${s.cases} cases in ${(s.elapsedMs / 1000).toFixed(1)} s, ${s.casesPerSecond} cases/s, ` +
    `seed ${seed}, dials ${JSON.stringify(s.dials)}, ends ${JSON.stringify(s.byEnd)}\n`,
);
for (const p of problems.slice(0, 20)) process.stderr.write(`  in-process fuzz: ${p}\n`);
process.exit(problems.length === 0 && s.failures === 0 ? 0 : 1);
