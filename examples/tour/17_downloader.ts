/**
 * Lesson 17 — the tutorial's concurrent image downloader. Python needed
 * `run_in_executor` (requests blocks the loop) or aiohttp; Deno's `fetch` is
 * already asynchronous, so each download is simply a task. A `Semaphore`
 * keeps at most three at once, a `TaskGroup` owns them all, and each task
 * hands its `signal` to `fetch`, so cancelling the group (here by a
 * `timeout`) aborts the downloads in flight. `examples/downloader.ts` is the
 * full program (its parts in `examples/downloader/`): retries, `.part`
 * files, safe names, progress.
 *
 * A local server stands in for the image site, so no internet is needed.
 *
 *     deno run --allow-net=127.0.0.1 --allow-write examples/tour/17_downloader.ts
 */
import { Semaphore, sleep, TaskGroup, timeout } from "../../mod.ts";

await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
  const n = Number(/(\d+)\.jpg$/.exec(new URL(req.url).pathname)?.[1]);
  if (n === 0) return new Response(new ReadableStream({ pull: () => new Promise(() => {}) }));
  await sleep(10 + (n % 3) * 15);
  return new Response(new Uint8Array(1000 * n), { headers: { "content-type": "image/jpeg" } });
});
const site = `http://127.0.0.1:${server.addr.port}/images`;
const dir = await Deno.makeTempDir({ prefix: "aio-tour-" });
const limit = new Semaphore(3);
let running = 0;
let peak = 0;

/** The tutorial's download_image: get the bytes, write them to a file. */
async function downloadImage(url: string, signal: AbortSignal): Promise<void> {
  using _permit = await limit.acquire();
  peak = Math.max(peak, ++running);
  const name = url.slice(url.lastIndexOf("/") + 1);
  console.log(`start ${name}`);
  try {
    const response = await fetch(url, { signal });
    const bytes = await response.bytes();
    await Deno.writeFile(`${dir}/${name}`, bytes);
    console.log(`done  ${name} (${bytes.length} bytes)`);
  } finally {
    running--;
  }
}

const urls = [1, 2, 3, 4, 5, 6].map((n) => `${site}/photo-${n}.jpg`);
await TaskGroup.run((tg) => {
  for (const url of urls) tg.createTask((signal) => downloadImage(url, signal));
});
console.log(`${urls.length} images downloaded, at most ${peak} at once`);

// An image that never arrives: the timeout cancels the group, which aborts its fetch.
try {
  await timeout(100, () =>
    TaskGroup.run((tg) => {
      for (const n of [7, 0]) {
        tg.createTask((signal) => downloadImage(`${site}/photo-${n}.jpg`, signal));
      }
    }));
} catch (e) {
  console.log(`gave up after 100 ms: ${(e as Error).name}; downloads still running: ${running}`);
}
await Deno.remove(dir, { recursive: true });
