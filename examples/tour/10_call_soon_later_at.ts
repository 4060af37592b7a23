/**
 * Lesson 10 — scheduling plain callbacks: `callSoon`, `callLater`, `callAt`.
 *
 *     deno run examples/tour/10_call_soon_later_at.ts
 */
import { callAt, callLater, callSoon, sleep, time } from "../../mod.ts";

// time() is aio's clock: monotonic milliseconds, the unit of every aio time.
const start = time();
const at = (label: string) =>
  console.log(`${label} at +${Math.round((time() - start) / 10) * 10} ms`);

// Scheduled first, so that callSoon runs first even if this program is
// paused past callAt's deadline before the next line (a busy machine).
callSoon(at, "callSoon");
callAt(start + 20, at, "callAt(+20 ms)");
callLater(40, at, "callLater(40)");
const cancelled = callLater(30, at, "never printed");
cancelled.cancel();
await sleep(60);
console.log("cancelled handle:", cancelled.cancelled());
