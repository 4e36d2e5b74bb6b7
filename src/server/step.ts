/**
 * The plumbing of session steps: each step returns what happened (a
 * discriminated union on `kind`) and records the end of the session in the
 * {@linkcode SessionOutcome} instead of throwing; {@linkcode ENDED} is the
 * shared "the session ends here" value.
 *
 * @module
 */
import { type Conn, StepTimeoutError } from "../runtime/index.ts";
import { encodeReply, Socks5EofError, Socks5ProtocolError } from "../socks5/index.ts";
import type { AccessAnswer } from "./access.ts";
import type { SessionEnd, SessionOutcome } from "./outcome.ts";

/** The session ends here; `SessionOutcome.end` (and `reply`) say how. */
export const ENDED = { kind: "ended" } as const;
/** The type of {@linkcode ENDED}. */
export type Ended = typeof ENDED;

const ZERO_ADDR = { host: "0.0.0.0", port: 0 } as const;

/** Record the end of the session in `o`; returns {@linkcode ENDED} for the step to return. */
export function ended(o: SessionOutcome, end: SessionEnd, detail: string): Ended {
  o.end = end;
  o.detail = detail;
  return ENDED;
}

/** Classify an error a step did not expect to be answered (timeouts, malformed input, I/O errors). */
export function endedBy(o: SessionOutcome, error: unknown): Ended {
  const end: SessionEnd = error instanceof StepTimeoutError
    ? "timeout"
    : error instanceof Socks5ProtocolError || error instanceof Socks5EofError
    ? "protocol_error"
    : "error";
  return ended(o, end, error instanceof Error ? error.message : String(error));
}

/** Await a hook's answer; `undefined` when allowed, else the denial reason. */
export async function denial(answer: AccessAnswer): Promise<string | undefined> {
  const decision = await answer;
  return decision.allow ? undefined : decision.reason;
}

/**
 * Answer a refused request with `rep` (RFC 1928 §6, BND.ADDR 0.0.0.0:0) and end
 * the session with `end` (`completed`, or `denied` for REP 0x02 from an
 * access hook). A failed write is ignored: the session ends either way.
 */
export async function refuse(
  client: Conn,
  o: SessionOutcome,
  rep: number,
  end: SessionEnd,
  detail: string,
): Promise<Ended> {
  o.reply = rep;
  await client.write(encodeReply(rep, ZERO_ADDR)).catch(() => {});
  return ended(o, end, detail);
}
