/**
 * Test helper: read TCP keep-alive timers of loopback sockets with the real
 * `ss` (iproute2), as an operator would check them.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

/** One established socket as `ss -tno` shows it. */
export interface SocketTimer {
  local: string;
  peer: string;
  /** Seconds left on the keep-alive timer, or undefined when the socket has no keep-alive timer. */
  keepalive?: number;
  /** The raw line. */
  line: string;
}

/** Seconds of an ss timer value such as `1min59sec`, `119min`, `59sec`, `999ms`. */
function seconds(text: string): number {
  const m = /^(?:(\d+)min)?(?:(\d+)sec)?(?:(\d+)ms)?$/.exec(text);
  if (!m) throw new Error(`unexpected ss timer ${text}`);
  return Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0) + Number(m[3] ?? 0) / 1000;
}

/**
 * Established TCP sockets matching the ss `filter` (e.g. `sport = :1080`),
 * with their keep-alive timers.
 */
export function established(filter: string): SocketTimer[] {
  const text = execFileSync("ss", ["-tnoH", "state", "established", `( ${filter} )`], { encoding: "utf8" });
  return text.split("\n").filter((l) => l.trim() !== "").map((line) => {
    const fields = line.trim().split(/\s+/);
    const timer = /timer:\(keepalive,([^,]+),\d+\)/.exec(line);
    return { local: fields[2], peer: fields[3], keepalive: timer ? seconds(timer[1]) : undefined, line };
  });
}

/**
 * The sockets matching `filter` once every one of them is idle (no
 * retransmission or delayed-ACK timer left), polling for at most 5 s.
 */
export async function idleSockets(filter: string, count: number): Promise<SocketTimer[]> {
  let found: SocketTimer[] = [];
  for (let i = 0; i < 100; i++) {
    found = established(filter);
    if (found.length === count && found.every((s) => !/timer:\((on|persist)/.test(s.line))) return found;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`expected ${count} idle sockets for ${filter}, got:\n${found.map((s) => s.line).join("\n")}`);
}

/**
 * The kernel's keep-alive default `name` (`tcp_keepalive_time`, `_intvl`
 * in seconds; `_probes` a count), from `/proc/sys/net/ipv4/`.
 */
export function kernelKeepAlive(name: "time" | "intvl" | "probes"): number {
  return Number(readFileSync(`/proc/sys/net/ipv4/tcp_keepalive_${name}`, "utf8").trim());
}

/** The kernel's default keep-alive idle time, seconds (`net.ipv4.tcp_keepalive_time`). */
export function kernelKeepAliveTime(): number {
  return kernelKeepAlive("time");
}
