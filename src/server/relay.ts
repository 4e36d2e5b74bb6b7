/**
 * The relay: after a successful CONNECT, bytes flow both ways until both
 * sides are done. A FIN from one side is passed on as a FIN (half-close) while
 * the other direction keeps flowing; backpressure comes from
 * {@linkcode Conn.pipeTo}, so memory per tunnel stays bounded.
 *
 * @module
 */
import type { Conn } from "../runtime/index.ts";
import type { Direction } from "./observer.ts";

/** Byte totals of one tunnel. */
export interface RelayResult {
  /** Bytes from the client to the destination. */
  clientToDest: number;
  /** Bytes from the destination to the client. */
  destToClient: number;
  /** The first I/O error on either side, if any (the tunnel was then torn down). */
  error?: unknown;
  /**
   * Which side's socket failed, with `error`: the source of the direction
   * whose pipe failed first (`client` for client to destination), since
   * each direction keeps a read pending and a reset is seen first by the
   * read on the socket that was reset; but for `EPIPE`, which only a write
   * raises, the destination of that pipe.
   */
  errorSide?: "client" | "dest";
}

/**
 * Relay between `client` and `dest` until both directions have seen FIN, or
 * until an I/O error on either side, then close both sockets.
 *
 * @param onBytes called as each chunk is forwarded, with its direction and size in bytes.
 * @returns the byte totals and the error that ended the tunnel, if any. Never rejects.
 */
export async function relay(
  client: Conn,
  dest: Conn,
  onBytes: (direction: Direction, bytes: number) => void,
): Promise<RelayResult> {
  const result: RelayResult = { clientToDest: 0, destToClient: 0 };
  const fail = (source: "client" | "dest", error: unknown) => {
    if (result.error === undefined) {
      result.error = error;
      const written = (error as { code?: unknown })?.code === "EPIPE";
      result.errorSide = written ? (source === "client" ? "dest" : "client") : source;
    }
    client.close();
    dest.close();
  };
  await Promise.all([
    client.pipeTo(dest, (n) => {
      result.clientToDest += n;
      onBytes("client_to_dest", n);
    }).catch((error) => fail("client", error)),
    dest.pipeTo(client, (n) => {
      result.destToClient += n;
      onBytes("dest_to_client", n);
    }).catch((error) => fail("dest", error)),
  ]);
  client.close();
  dest.close();
  return result;
}
