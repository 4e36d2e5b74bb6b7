/**
 * {@linkcode ByteReader}: turns a connection's stream of chunks into whole
 * SOCKS5 messages, one decoder call at a time.
 *
 * @module
 */
import type { Conn } from "../runtime/index.ts";
import type { Decoder } from "./codec.ts";
import { Socks5EofError, Socks5ProtocolError } from "./errors.ts";

/**
 * Default {@linkcode ByteReaderOptions.maxBuffered}: 1024 bytes. The largest
 * legal handshake message is the RFC 1929 request (513 bytes); a request
 * with a domain name is at most 262.
 */
export const DEFAULT_MAX_BUFFERED = 1024;

/** Options of {@linkcode ByteReader}. */
export interface ByteReaderOptions {
  /**
   * Bytes that may be buffered while a message is still incomplete, default
   * {@linkcode DEFAULT_MAX_BUFFERED}. Beyond it `next()` throws, so a peer
   * sending garbage cannot make the buffer grow past this plus one chunk.
   */
  maxBuffered?: number;
}

/**
 * Reads whole messages from `conn` with the codec's decoders.
 *
 * `next(decoder)` first tries the bytes already buffered, then reads chunks
 * until the decoder returns a message; bytes past the message stay buffered
 * for the next call. After the handshake, `takeBuffered()` hands the
 * surplus (data the peer pipelined behind its last message) to the caller,
 * which must forward it before relaying.
 *
 * @example
 * ```ts
 * const reader = new ByteReader(conn);
 * const { methods } = await reader.next(decodeGreeting);
 * // ...
 * const request = await reader.next(decodeRequest);
 * const early = reader.takeBuffered(); // forward these first
 * ```
 */
export class ByteReader {
  #conn: Pick<Conn, "read">;
  #maxBuffered: number;
  #buffer: Uint8Array = new Uint8Array(0);
  #busy = false;

  /**
   * @param conn where the bytes come from; `read()` resolving `null` is FIN.
   * @param options see {@linkcode ByteReaderOptions}.
   */
  constructor(conn: Pick<Conn, "read">, options: ByteReaderOptions = {}) {
    this.#conn = conn;
    this.#maxBuffered = options.maxBuffered ?? DEFAULT_MAX_BUFFERED;
  }

  /** Number of bytes currently buffered (received but not yet consumed). */
  get bufferedLength(): number {
    return this.#buffer.length;
  }

  /**
   * The next message, as `decoder` reads it.
   *
   * @throws {Socks5EofError} when the peer sends FIN before a whole message.
   * @throws {Socks5ProtocolError} what the decoder throws, or when more than
   * `maxBuffered` bytes are buffered and the message is still incomplete.
   * @throws whatever `conn.read()` rejects with (a `NetError`).
   * @throws {Error} when called again before the previous call settled.
   */
  async next<T>(decoder: Decoder<T>): Promise<T> {
    if (this.#busy) throw new Error("ByteReader.next() called concurrently");
    this.#busy = true;
    try {
      for (;;) {
        const decoded = decoder(this.#buffer);
        if (decoded !== null) {
          const { value, length } = decoded;
          if (
            !Number.isInteger(length) || length < 1 ||
            length > this.#buffer.length
          ) {
            throw new RangeError(
              `decoder returned an impossible length ${length}`,
            );
          }
          this.#buffer = this.#buffer.subarray(length);
          return value;
        }
        if (this.#buffer.length > this.#maxBuffered) {
          throw new Socks5ProtocolError(
            `incomplete SOCKS5 message after ${this.#buffer.length} bytes (limit ${this.#maxBuffered})`,
          );
        }
        const chunk = await this.#conn.read();
        if (chunk === null) throw new Socks5EofError(this.#buffer.slice());
        this.#append(chunk);
      }
    } finally {
      this.#busy = false;
    }
  }

  /**
   * Hand over and forget the buffered surplus bytes (possibly empty). Call
   * it once the handshake is over; the bytes belong to the relayed stream.
   */
  takeBuffered(): Uint8Array {
    const surplus = this.#buffer.slice();
    this.#buffer = new Uint8Array(0);
    return surplus;
  }

  #append(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    if (this.#buffer.length === 0) {
      // Copy: the runtime may reuse the chunk's memory for its next read.
      this.#buffer = chunk.slice();
      return;
    }
    const joined = new Uint8Array(this.#buffer.length + chunk.length);
    joined.set(this.#buffer);
    joined.set(chunk, this.#buffer.length);
    this.#buffer = joined;
  }
}
