/**
 * Ed25519 signing with BigInt arithmetic, for MariaDB's `client_ed25519`
 * authentication. MariaDB hashes the password itself (any length) with
 * SHA-512 where RFC 8032 hashes a 32-byte seed; the rest is standard
 * Ed25519. WebCrypto's Ed25519 only takes a 32-byte seed, so it cannot
 * produce these signatures; the few lines of curve arithmetic are here.
 * (Variable-time: fine for a client proving a password it already holds,
 * not for a signing service.)
 *
 * @module
 */

import { digest } from "./buffer.ts";

const P = 2n ** 255n - 19n;
/** The group order. */
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const D = 37095705934669439343138083508754565189542113879843219016388785533085940283555n;
const BX = 15112221349535400772501151409588531511454012693041857206046113283949847762202n;
const BY = 46316835694926478169428394003475163141307993866256225615783033603165251855960n;

/** A point in extended coordinates (X:Y:Z:T), x = X/Z, y = Y/Z, xy = T/Z. */
type Point = readonly [bigint, bigint, bigint, bigint];

const mod = (a: bigint, m = P): bigint => {
  const r = a % m;
  return r >= 0n ? r : r + m;
};

function pow(base: bigint, exp: bigint): bigint {
  let result = 1n;
  base = mod(base);
  while (exp > 0n) {
    if (exp & 1n) result = (result * base) % P;
    base = (base * base) % P;
    exp >>= 1n;
  }
  return result;
}

/** Point addition on the twisted Edwards curve -x² + y² = 1 + d·x²·y² (RFC 8032, 5.1.4). */
function add(p: Point, q: Point): Point {
  const [x1, y1, z1, t1] = p;
  const [x2, y2, z2, t2] = q;
  const a = mod((y1 - x1) * (y2 - x2));
  const b = mod((y1 + x1) * (y2 + x2));
  const c = mod(t1 * 2n * D * t2);
  const d = mod(z1 * 2n * z2);
  const e = b - a, f = d - c, g = d + c, h = b + a;
  return [mod(e * f), mod(g * h), mod(f * g), mod(e * h)];
}

function multiply(scalar: bigint, point: Point): Point {
  let result: Point = [0n, 1n, 1n, 0n];
  let addend = point;
  while (scalar > 0n) {
    if (scalar & 1n) result = add(result, addend);
    addend = add(addend, addend);
    scalar >>= 1n;
  }
  return result;
}

const BASE: Point = [BX, BY, 1n, mod(BX * BY)];

function encodePoint(p: Point): Uint8Array {
  const zInv = pow(p[2], P - 2n);
  const x = mod(p[0] * zInv);
  const y = mod(p[1] * zInv);
  const out = littleEndian(y, 32);
  out[31] |= Number(x & 1n) << 7;
  return out;
}

function littleEndian(n: bigint, size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

function fromLittleEndian(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]);
  return n;
}

const sha512 = (...parts: Uint8Array[]) => digest("SHA-512", ...parts);

/**
 * Signs `message` the way MariaDB's `client_ed25519` plugin does: the
 * password's SHA-512 is the expanded secret key of RFC 8032.
 *
 * @param password The password's UTF-8 bytes.
 * @param message The message (the server's 32-byte scramble).
 * @returns The 64-byte signature, and the public key it verifies with.
 *
 * @example
 * ```ts
 * import { ed25519Sign } from "./ed25519.ts";
 * import { assert } from "@std/assert";
 *
 * const message = new Uint8Array(32).fill(7);
 * const { signature, publicKey } = await ed25519Sign(new TextEncoder().encode("secret"), message);
 * const key = await crypto.subtle.importKey("raw", publicKey, "Ed25519", false, ["verify"]);
 * assert(await crypto.subtle.verify("Ed25519", key, signature, message));
 * ```
 */
export async function ed25519Sign(
  password: Uint8Array,
  message: Uint8Array,
): Promise<{ signature: Uint8Array<ArrayBuffer>; publicKey: Uint8Array<ArrayBuffer> }> {
  const h = await sha512(password);
  const a = h.slice(0, 32);
  a[0] &= 248;
  a[31] &= 63;
  a[31] |= 64;
  const secret = fromLittleEndian(a);
  const publicKey = encodePoint(multiply(secret, BASE));
  const r = mod(fromLittleEndian(await sha512(h.subarray(32), message)), L);
  const encodedR = encodePoint(multiply(r, BASE));
  const k = mod(fromLittleEndian(await sha512(encodedR, publicKey, message)), L);
  const s = mod(r + k * secret, L);
  const signature = new Uint8Array(64);
  signature.set(encodedR, 0);
  signature.set(littleEndian(s, 32), 32);
  return { signature, publicKey: new Uint8Array(publicKey) };
}
