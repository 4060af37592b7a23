/**
 * Lesson 16 — the tutorial's socket program: an HTTP GET written by hand
 * over `openConnection` (asyncio's `open_connection`), fetched ten times at
 * once. First every result at the end (`wait`, then the tasks in order), then
 * each result as soon as it is ready (`asCompleted`).
 *
 * A tiny web server made with `startServer` runs in the same program, so the
 * lesson needs no internet: page i answers after (10 - i) * 10 ms, so the
 * last page is ready first. `examples/http_get.ts` is the full tool.
 *
 *     deno run --allow-net=127.0.0.1 examples/tour/16_http_get.ts
 */
import { asCompleted, createTask, openConnection, sleep, startServer, wait } from "../../mod.ts";

const decoder = new TextDecoder();

await using server = await startServer(async (reader, writer) => {
  const requestLine = decoder.decode(await reader.readLine()); // "GET /page/3 HTTP/1.1\r\n"
  while ((await reader.readLine()).length > 2); // the header fields, up to the empty line
  const page = Number(/\/page\/(\d+)/.exec(requestLine)?.[1]);
  await sleep((10 - page) * 10);
  const body = `<h1>page ${page}</h1>`;
  writer.write(
    "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n" +
      `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
  );
}, { host: "127.0.0.1", port: 0 });

/** The tutorial's get_html: connect, write the request, read until the server closes. */
async function getHtml(path: string): Promise<string> {
  await using conn = await openConnection("127.0.0.1", server.addr.port);
  const [reader, writer] = conn;
  writer.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
  const response = await reader.text(); // "Connection: close": the server ends the stream
  const statusLine = response.slice(0, response.indexOf("\r\n"));
  return `${statusLine} | ${response.slice(response.indexOf("\r\n\r\n") + 4)}`;
}

console.log("all at once (wait, then each task's result in order):");
const tasks = Array.from({ length: 10 }, (_, i) => createTask(() => getHtml(`/page/${i}`)));
await wait(tasks);
for (const task of tasks) console.log(`  ${task.result()}`);

console.log("as each completes (asCompleted):");
const again = Array.from({ length: 10 }, (_, i) => createTask(() => getHtml(`/page/${i}`)));
for (const next of asCompleted(again)) console.log(`  ${await next}`);
