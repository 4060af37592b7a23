/**
 * `StreamWriter` under any sequence of writes, property-based (fast-check):
 * whatever the sizes (small writes copied and coalesced, large ones passed
 * through), the mix of strings and bytes, the partial writes of the target
 * and when its writes complete, the target receives exactly the bytes
 * written, in order, once. Fixed seed; `AIO_PROPERTY_SEED` and
 * `AIO_PROPERTY_RUNS` override it and the number of runs.
 *
 * @module
 */

import { assertEquals } from "@std/assert";
import fc from "fast-check";
import { StreamWriter } from "../mod.ts";

function envNumber(name: string, fallback: number): number {
  let raw: string | undefined;
  try {
    raw = Deno.env.get(name);
  } catch {
    // No --allow-env: the defaults apply.
  }
  const n = raw === undefined ? NaN : Number(raw);
  return Number.isSafeInteger(n) ? n : fallback;
}

const SEED = envNumber("AIO_PROPERTY_SEED", 20_240_507);
const RUNS = envNumber("AIO_PROPERTY_RUNS", 1000);

const encoder = new TextEncoder();

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** One write: a string (any code points) or bytes, from tiny to past the copy threshold. */
const write: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 300 }) },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 1000, max: 20_000 }).map((n) =>
      Uint8Array.from({ length: n }, (_, i) => (i * 13 + n) & 0xff)
    ),
  },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 500, max: 7000 }).map((n) => "\u00e9\ud83c\udf89x".repeat(n)),
  },
);

/** How a write of the target ends: how many bytes it takes, after how many microtasks. */
const targetStep = fc.record({
  share: fc.double({ min: 0.01, max: 1, noNaN: true }),
  delay: fc.integer({ min: 0, max: 3 }),
});

Deno.test("any sequence of writes reaches the target exactly once, in order", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.array(write, { maxLength: 30 }), { minLength: 1, maxLength: 8 }),
      fc.array(targetStep, { minLength: 1, maxLength: 20 }),
      async (bursts, steps) => {
        const received: Uint8Array[] = [];
        let call = 0;
        const writer = new StreamWriter({
          async write(p: Uint8Array): Promise<number> {
            const { share, delay } = steps[call++ % steps.length];
            for (let i = 0; i < delay; i++) await Promise.resolve();
            const n = Math.max(1, Math.floor(p.length * share));
            // The writer may reuse its buffers once a write resolves: copy now.
            received.push(p.slice(0, n));
            return n;
          },
        });
        const expected: Uint8Array[] = [];
        for (const burst of bursts) {
          // A burst is written synchronously; the writer flushes between bursts.
          for (const w of burst) {
            writer.write(w);
            expected.push(typeof w === "string" ? encoder.encode(w) : w.slice());
          }
          await writer.drain();
          for (let i = 0; i < 3; i++) await Promise.resolve();
        }
        writer.close();
        await writer.waitClosed();
        const got = concat(received);
        const want = concat(expected);
        assertEquals(got.length, want.length, "byte count");
        const at = got.findIndex((b, i) => b !== want[i]);
        assertEquals(at, -1, `first difference at byte ${at}`);
        assertEquals(writer.getWriteBufferSize(), 0);
      },
    ),
    { seed: SEED, numRuns: RUNS },
  ).catch((e) => {
    console.error(`failed with seed ${SEED} (AIO_PROPERTY_SEED=${SEED})`);
    throw e;
  });
});
