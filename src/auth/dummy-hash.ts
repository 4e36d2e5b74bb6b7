/**
 * The stand-in hash an unknown username is checked against, so that a wrong
 * password costs the same whether or not the user exists: its algorithm and
 * cost parameters are those of the configured hashes, its salt and digest
 * random (so it matches no password).
 *
 * @module
 */

/**
 * The cost-relevant shape of a hash: argon2id's version, `m`, `t`, `p` and
 * salt and digest lengths, or bcrypt's variant and cost. Two hashes with the
 * same shape cost the same to verify.
 */
export function hashShape(hash: string): string | undefined {
  const argon = /^(\$argon2id\$(?:v=\d+\$)?m=\d+,t=\d+,p=\d+\$)([A-Za-z0-9+/]+)={0,2}\$([A-Za-z0-9+/]+)={0,2}$/.exec(
    hash,
  );
  if (argon) return `${argon[1]}${argon[2].length}$${argon[3].length}`;
  const bcrypt = /^(\$2[aby]\$\d\d\$)[./A-Za-z0-9]{53}$/.exec(hash);
  if (bcrypt) return bcrypt[1];
  return undefined;
}

const BCRYPT_ALPHABET = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** `chars` characters of unpadded base64 of random bytes. */
function randomBase64(chars: number): string {
  // floor(chars * 3 / 4) bytes encode to exactly `chars` characters when
  // chars mod 4 is not 1, which holds for every whole number of bytes.
  const bytes = crypto.getRandomValues(new Uint8Array(Math.floor((chars * 3) / 4)));
  return btoa(String.fromCharCode(...bytes)).replace(/=+$/, "");
}

/** A random hash of `shape` (from {@linkcode hashShape}). */
function hashOfShape(shape: string): string {
  if (shape.startsWith("$2")) {
    const random = crypto.getRandomValues(new Uint8Array(53));
    return shape + Array.from(random, (b) => BCRYPT_ALPHABET[b & 63]).join("");
  }
  const m = /^(.*\$)(\d+)\$(\d+)$/.exec(shape)!;
  return `${m[1]}${randomBase64(Number(m[2]))}$${randomBase64(Number(m[3]))}`;
}

/**
 * The dummy hash for `hashes` (the configured `password_hash` values):
 * a random hash with the shape most of them share (ties: the first
 * configured), or `undefined` when there are none (then an unknown user costs
 * a constant-time compare, like a user with a literal password).
 *
 * @example
 * ```ts
 * dummyHashFor(["$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g"]);
 * // "$argon2id$v=19$m=19456,t=2,p=1$<random>$<random>"
 * ```
 */
export function dummyHashFor(hashes: readonly string[]): string | undefined {
  const counts = new Map<string, number>();
  for (const hash of hashes) {
    const shape = hashShape(hash);
    if (shape !== undefined) counts.set(shape, (counts.get(shape) ?? 0) + 1);
  }
  let best: string | undefined;
  for (const [shape, count] of counts) if (best === undefined || count > counts.get(best)!) best = shape;
  return best === undefined ? undefined : hashOfShape(best);
}
