/**
 * The C load generator (`loadgen.c`): compiled with gcc on first use, and run
 * in its modes (target, bulk, rate, idle, start), each printing one JSON line.
 *
 * @module
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { track } from "./proc.ts";

const here = dirname(fileURLToPath(import.meta.url));
/** Repository root. */
export const ROOT = join(here, "..", "..");
const SOURCE = join(here, "loadgen.c");
const BINARY = join(ROOT, "node_modules", ".cache", "proxy-server-bench", "loadgen");

/** Compile loadgen.c when the binary is missing or older than the source; returns its path. */
export function buildLoadgen(): string {
  if (existsSync(BINARY) && statSync(BINARY).mtimeMs >= statSync(SOURCE).mtimeMs) return BINARY;
  mkdirSync(dirname(BINARY), { recursive: true });
  const r = spawnSync("gcc", ["-O2", "-Wall", "-o", BINARY, SOURCE], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`gcc failed (install gcc): ${r.error?.message ?? r.stderr}`);
  return BINARY;
}

/** Run one loadgen mode to completion (bounded by `timeoutMs`) and parse its JSON line. */
export function runLoadgen<T>(args: (string | number)[], timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(BINARY, args.map(String), { stdio: ["ignore", "pipe", "pipe"] });
    track(child);
    let out = "";
    let err = "";
    child.stdout!.on("data", (d) => out += d);
    child.stderr!.on("data", (d) => err += d);
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", () => {
      clearTimeout(timer);
      const line = out.trim().split("\n").pop() ?? "";
      try {
        resolve(JSON.parse(line) as T);
      } catch {
        reject(new Error(`loadgen ${args.join(" ")}: no result (${err.trim() || out.trim() || "killed"})`));
      }
    });
  });
}

/** A loadgen child that printed its first line and waits for stdin to close. */
export interface Held<T> {
  /** The first line, parsed. */
  result: T;
  /** Close stdin (the child then exits) and wait for it. */
  release(): Promise<void>;
  /** The loadgen process. */
  child: ChildProcess;
}

/** Start a loadgen mode that holds on (target, idle) and resolve with its first output line. */
export function holdLoadgen<T>(
  args: (string | number)[],
  timeoutMs: number,
  parse: (line: string) => T,
): Promise<Held<T>> {
  return new Promise((resolve, reject) => {
    const child = spawn(BINARY, args.map(String), { stdio: ["pipe", "pipe", "inherit"] });
    track(child);
    let out = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`loadgen ${args.join(" ")}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    const release = () =>
      new Promise<void>((r) => {
        if (child.exitCode !== null) return r();
        child.once("exit", () => r());
        child.stdin!.end();
      });
    child.stdout!.on("data", (d) => {
      out += d;
      const nl = out.indexOf("\n");
      if (nl < 0) return;
      clearTimeout(timer);
      child.stdout!.removeAllListeners("data");
      child.stdout!.resume();
      try {
        resolve({ result: parse(out.slice(0, nl)), release, child });
      } catch (e) {
        release();
        reject(e);
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`loadgen ${args.join(" ")} exited (${code}) before answering`));
    });
  });
}
