/**
 * Reads `deno bench --json` output on stdin and prints, per group, each
 * benchmark's speed relative to the group's baseline (the figures README
 * quotes). Used by `deno task bench:compare`.
 *
 *     deno bench --json bench/ | deno run tools/bench_compare.ts
 *
 * @module
 */

interface BenchResult {
  ok?: { n: number; min: number; avg: number; p75: number };
  failed?: unknown;
}
interface Bench {
  origin: string;
  group: string | null;
  name: string;
  baseline: boolean;
  results: BenchResult[];
}

const text = await new Response(Deno.stdin.readable).text();
const report = JSON.parse(text) as { runtime: string; cpu: string; benches: Bench[] };

const groups = new Map<string, Bench[]>();
for (const bench of report.benches) {
  const file = bench.origin.split("/").pop();
  const key = `${file} — ${bench.group ?? bench.name}`;
  groups.set(key, [...groups.get(key) ?? [], bench]);
}

const ms = (ns: number) => `${(ns / 1e6).toFixed(1)} ms`;
console.log(`${report.runtime} on ${report.cpu}`);
let failures = 0;
for (const [group, benches] of groups) {
  console.log(`\n${group}`);
  const base = benches.find((b) => b.baseline) ?? benches[0];
  const baseAvg = base.results[0]?.ok?.avg;
  const baseMin = base.results[0]?.ok?.min;
  for (const bench of benches) {
    const ok = bench.results[0]?.ok;
    if (!ok) {
      failures++;
      console.log(`  ${bench.name}: FAILED`);
      continue;
    }
    const byAvg = baseAvg ? baseAvg / ok.avg : NaN;
    const byMin = baseMin ? baseMin / ok.min : NaN;
    const mark = bench === base ? " (baseline)" : "";
    console.log(
      `  ${byAvg.toFixed(2).padStart(6)}× ${byMin.toFixed(2).padStart(6)}×  avg ${
        ms(ok.avg).padStart(10)
      }  min ${ms(ok.min).padStart(10)}  ${bench.name}${mark}`,
    );
  }
}
console.log(
  "\n× = speed relative to the group's baseline (higher is faster): first by average time, then by" +
    " best time.\nThe average includes garbage-collection pauses; the best run shows the cost without them.",
);
if (failures > 0) Deno.exit(1);
