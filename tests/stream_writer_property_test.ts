/**
 * `StreamWriter` under any sequence of writes, property-based (fast-check):
 * whatever the sizes (small writes copied and coalesced, large ones passed
 * through), the mix of strings and bytes, the partial writes of the target
 * and when its writes complete, the target receives exactly the bytes
 * written, in order, once. Fixed seed (see tests/_property.ts for
 * `AIO_PROPERTY_SEED` and `AIO_PROPERTY_RUNS`).
 *
 * @module
 */

import { assertEquals } from "@std/assert";
import fc from "fast-check";
import { StreamWriter } from "../mod.ts";
import { concat } from "./_bytes.ts";
import { checkProperty } from "./_property.ts";

const encoder = new TextEncoder();

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
  await checkProperty(
    "writes",
    1000,
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
  );
});
