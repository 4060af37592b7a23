/**
 * CPU-bound work through a `WorkerPool` of 2 workers, against the same work
 * done serially on the main thread: 8 jobs, each a SHA-256 of 64 MiB.
 *
 *     deno run -A tools/with_std.ts bench --allow-all bench/workers_bench.ts
 *
 * The hash is computed by the synchronous TypeScript `sha256` below, not
 * `crypto.subtle.digest`: Deno runs that digest as an async op whose work is
 * not (all) done on the calling thread, so concurrent digests already
 * overlap without workers and the main-thread baseline would not be serial
 * CPU work. `sha256` runs entirely on the thread that calls it; it is
 * checked against `crypto.subtle.digest`, and the pool's digests against the
 * serial ones, before the benches are registered.
 *
 * The pool runs this module's own export (`import.meta.url` and the
 * function), so this module is also evaluated in each worker: there it
 * registers no bench.
 *
 * @module
 */
import { WorkerPool } from "../mod.ts";

const MIB = 1024 * 1024;
const SIZE = 64 * MIB;
const JOBS = 8;

const K = new Uint32Array([
  0x428a2f98,
  0x71374491,
  0xb5c0fbcf,
  0xe9b5dba5,
  0x3956c25b,
  0x59f111f1,
  0x923f82a4,
  0xab1c5ed5,
  0xd807aa98,
  0x12835b01,
  0x243185be,
  0x550c7dc3,
  0x72be5d74,
  0x80deb1fe,
  0x9bdc06a7,
  0xc19bf174,
  0xe49b69c1,
  0xefbe4786,
  0x0fc19dc6,
  0x240ca1cc,
  0x2de92c6f,
  0x4a7484aa,
  0x5cb0a9dc,
  0x76f988da,
  0x983e5152,
  0xa831c66d,
  0xb00327c8,
  0xbf597fc7,
  0xc6e00bf3,
  0xd5a79147,
  0x06ca6351,
  0x14292967,
  0x27b70a85,
  0x2e1b2138,
  0x4d2c6dfc,
  0x53380d13,
  0x650a7354,
  0x766a0abb,
  0x81c2c92e,
  0x92722c85,
  0xa2bfe8a1,
  0xa81a664b,
  0xc24b8b70,
  0xc76c51a3,
  0xd192e819,
  0xd6990624,
  0xf40e3585,
  0x106aa070,
  0x19a4c116,
  0x1e376c08,
  0x2748774c,
  0x34b0bcb5,
  0x391c0cb3,
  0x4ed8aa4a,
  0x5b9cca4f,
  0x682e6ff3,
  0x748f82ee,
  0x78a5636f,
  0x84c87814,
  0x8cc70208,
  0x90befffa,
  0xa4506ceb,
  0xbef9a3f7,
  0xc67178f2,
]);

/** Mixes the 64-byte block of `data` at `offset` into the state `h`. */
function compress(h: Uint32Array, w: Uint32Array, data: Uint8Array, offset: number): void {
  for (let i = 0; i < 16; i++) {
    const j = offset + 4 * i;
    w[i] = (data[j] << 24) | (data[j + 1] << 16) | (data[j + 2] << 8) | data[j + 3];
  }
  for (let i = 16; i < 64; i++) {
    const x = w[i - 15], y = w[i - 2];
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  let a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
  for (let i = 0; i < 64; i++) {
    const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (k + s1 + ((e & f) ^ (~e & g)) + K[i] + w[i]) | 0;
    const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (s0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    k = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  h[0] += a;
  h[1] += b;
  h[2] += c;
  h[3] += d;
  h[4] += e;
  h[5] += f;
  h[6] += g;
  h[7] += k;
}

/** SHA-256 (FIPS 180-4) of `data`, synchronously on the calling thread. */
function sha256(data: Uint8Array): Uint8Array {
  const h = new Uint32Array([
    0x6a09e667,
    0xbb67ae85,
    0x3c6ef372,
    0xa54ff53a,
    0x510e527f,
    0x9b05688c,
    0x1f83d9ab,
    0x5be0cd19,
  ]);
  const w = new Uint32Array(64);
  const whole = data.length - (data.length % 64);
  for (let offset = 0; offset < whole; offset += 64) compress(h, w, data, offset);
  // The last bytes, a 1 bit, zeros, and the length in bits (big-endian).
  const rest = data.length - whole;
  const tail = new Uint8Array(rest < 56 ? 64 : 128);
  tail.set(data.subarray(whole));
  tail[rest] = 0x80;
  const bits = data.length * 8;
  const view = new DataView(tail.buffer);
  view.setUint32(tail.length - 8, Math.floor(bits / 2 ** 32));
  view.setUint32(tail.length - 4, bits >>> 0);
  for (let offset = 0; offset < tail.length; offset += 64) compress(h, w, tail, offset);
  const digest = new Uint8Array(32);
  const out = new DataView(digest.buffer);
  for (let i = 0; i < 8; i++) out.setUint32(4 * i, h[i]);
  return digest;
}

let input: Uint8Array | undefined;

/**
 * One job: SHA-256 of 64 MiB whose bytes depend on `seed`; returns the hex
 * digest. The buffer is allocated once per thread.
 */
export function hashJob(seed: number): string {
  input ??= new Uint8Array(SIZE);
  input.fill(seed & 0xff);
  input[0] = seed >>> 8;
  return Array.from(sha256(input), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function checkAgainstWebCrypto(): Promise<void> {
  for (const length of [0, 3, 55, 56, 63, 64, 65, 119, 1_000, MIB + 7]) {
    const data = new Uint8Array(length).map((_, i) => (i * 31 + length) & 0xff);
    const expected = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
    if (sha256(data).join() !== expected.join()) {
      throw new Error(`sha256 disagrees with crypto.subtle.digest for ${length} bytes`);
    }
  }
}

if (!("WorkerGlobalScope" in globalThis)) {
  await checkAgainstWebCrypto();
  // Idle workers stop 1 s after the last job, so the run then exits.
  const pool = new WorkerPool({ maxWorkers: 2, name: "bench" });
  const group = `${JOBS} x SHA-256 of 64 MiB`;
  const serially = () => Array.from({ length: JOBS }, (_, i) => hashJob(i));
  const inPool = () =>
    Promise.all(Array.from({ length: JOBS }, (_, i) => pool.submit(import.meta.url, hashJob, i)));

  // Once, outside the timed runs: the pool computes what the main thread does.
  if ((await inPool()).join() !== serially().join()) {
    throw new Error("the pool's digests differ from the serial ones");
  }

  Deno.bench({
    name: "serially on the main thread",
    group,
    baseline: true,
    n: 3,
    warmup: 1,
    fn() {
      serially();
    },
  });

  Deno.bench({
    name: "WorkerPool, 2 workers",
    group,
    n: 3,
    warmup: 1,
    async fn() {
      await inPool();
    },
  });
}
