/**
 * The `proxy-server` command: parse the command line, load and validate the
 * config before anything starts, then run.
 *
 * Exit status: 0 on a clean stop or success, 1 when the proxy cannot start
 * (e.g. a listen address in use), 2 for a bad command line or a bad config.
 * `--healthcheck` exits 0 or 1 only (see `healthcheck-command.ts`).
 * `--convert-proxy-config` exits 1 when parts of the Lua policy were
 * dropped, 2 on a Lua error (see `src/migrate/`).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import process from "node:process";
// Only what every command needs is imported here; each command loads its
// own modules when it runs (issue 14: a `--validate-config` or
// `--healthcheck` loads no server, no HTTP app, no OpenAPI document, no Lua
// VM, and a proxy with no HTTP listener loads no HTTP app either). The error
// classes come from modules with no dependencies of their own.
import { ConfigError } from "../config/errors.ts";
import { PolicyError } from "../migrate/errors.ts";
import { getRuntime } from "../runtime/index.ts";
import type { Runtime } from "../runtime/index.ts";
import { type Command, parseCommand, USAGE, UsageError } from "./args.ts";
import { BUILD, BUILD_STAMP, PRODUCT, VERSION } from "./version.ts";

function out(text: string): void {
  process.stdout.write(text.endsWith("\n") ? text : text + "\n");
}

function err(text: string): void {
  process.stderr.write(text.endsWith("\n") ? text : text + "\n");
}

/** All of standard input, as UTF-8 text (`--validate-config -`). */
async function readStdin(): Promise<string> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of process.stdin) {
    chunks.push(typeof chunk === "string" ? new TextEncoder().encode(chunk) : chunk);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}

async function execute(runtime: Runtime, command: Command): Promise<number> {
  const io = {
    readTextFile: (p: string) => runtime.readTextFile(p),
    env: (n: string) => runtime.env(n),
    notice: (text: string) => err(`notice: ${text}`),
  };
  switch (command.kind) {
    case "help":
      out(USAGE);
      return 0;
    case "version":
      out(`${PRODUCT} ${VERSION} (${runtime.name} ${runtime.version}; ${BUILD})`);
      return 0;
    case "dump-config-schema": {
      const { configJsonSchema } = await import("../config/index.ts");
      out(JSON.stringify(configJsonSchema(), null, 2));
      return 0;
    }
    case "dump-openapi-spec": {
      const [{ openApiText }, { serviceInfo }] = await Promise.all([import("../http/index.ts"), import("./info.ts")]);
      process.stdout.write(await openApiText(serviceInfo(runtime)));
      return 0;
    }
    case "dump-metric-metadata": {
      const { ProxyMetrics } = await import("../metrics/index.ts");
      const metrics = new ProxyMetrics({ version: VERSION, runtime, build: BUILD_STAMP });
      out(JSON.stringify(await metrics.metadata(), null, 2));
      return 0;
    }
    case "completion": {
      const { completionScript } = await import("./completion.ts");
      process.stdout.write(completionScript(command.shell));
      return 0;
    }
    case "validate-config": {
      const { validateCommand } = await import("./validate-command.ts");
      return await validateCommand(command.files, io, command, { out, err, readStdin });
    }
    case "healthcheck": {
      const { healthcheck } = await import("./healthcheck-command.ts");
      return await healthcheck(runtime, io, command.target, command.timeoutSeconds, { out, err });
    }
    case "run-config": {
      const [{ loadConfig }, { runProxy }] = await Promise.all([import("../config/index.ts"), import("./run.ts")]);
      return await runProxy(runtime, await loadConfig(command.file, io), {
        reload: () => loadConfig(command.file, io),
        source: command.file,
        diag: command.diag,
      });
    }
    case "convert-proxy-config": {
      // Loaded on demand: the Lua VM is needed only by these two modes.
      const { convertCommand } = await import("../migrate/index.ts");
      return await convertCommand(command.file, io, { cwd: process.cwd(), out, err });
    }
    case "run-proxy-config": {
      const [{ loadPolicyConfig }, { runProxy }] = await Promise.all([
        import("../migrate/index.ts"),
        import("./run.ts"),
      ]);
      const load = () => loadPolicyConfig(command.file, io, { cwd: process.cwd(), print: err });
      return await runProxy(runtime, await load(), { reload: load, source: command.file, diag: command.diag });
    }
    case "run-legacy": {
      if (command.noSplice) err("notice: --no-splice is accepted for KumoProxy compatibility and has no effect here");
      const [{ parseConfig }, { runProxy }] = await Promise.all([import("../config/index.ts"), import("./run.ts")]);
      const timeout = command.timeoutSeconds === undefined ? undefined : `${command.timeoutSeconds}s`;
      const config = await parseConfig(
        { proxy_listeners: command.listen.map((listen) => ({ listen, ...(timeout ? { timeout } : {}) })) },
        "--listen",
        io,
      );
      return await runProxy(runtime, config, {
        source: command.listen.map((a) => `--listen ${a}`).join(" "),
        diag: command.diag,
      });
    }
  }
}

/** Run the CLI with `argv` (arguments after the program name); resolves with the exit status. */
export async function main(argv: string[], runtime: Runtime): Promise<number> {
  try {
    return await execute(runtime, parseCommand(argv));
  } catch (error) {
    if (error instanceof UsageError) {
      err(`${PRODUCT}: ${error.message}`);
      return 2;
    }
    if (error instanceof ConfigError) {
      err(error.message);
      return 2;
    }
    if (error instanceof PolicyError) {
      err(error.message);
      return 2;
    }
    throw error;
  }
}

if (import.meta.main) {
  const runtime = getRuntime();
  runtime.exit(await main(runtime.args, runtime));
}
