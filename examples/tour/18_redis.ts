/**
 * Lesson 18 — the tutorial's aioredis programs. Every step of talking to
 * Redis (connect, log in, write a hash, read it back, close) is network I/O,
 * so each is an `await`, and two jobs run at once with `wait`. Then the
 * web-server lesson: request handlers share a pool of connections, each
 * borrowing one for its commands, as the tutorial's FastAPI app did with
 * `aioredis.ConnectionsPool`. `examples/redis/` is the client.
 *
 * It needs a Redis server (`apt-get install redis-server`):
 *
 *     deno run --allow-net=127.0.0.1 examples/tour/18_redis.ts --port 6379 [--password secret]
 */
import { parseArgs } from "node:util";
import { Barrier, createTask, startServer, wait } from "../../mod.ts";
import { RedisClient, RedisPool } from "../redis/mod.ts";

const { values } = parseArgs({
  options: { port: { type: "string", default: "6379" }, password: { type: "string" } },
});
const options = { host: "127.0.0.1", port: Number(values.port), password: values.password };

/** The tutorial's execute(): connect, HSET, HGETALL, close. */
async function execute(name: string): Promise<void> {
  console.log(`${name}: start`);
  // Network I/O: connect and log in (`await using` closes the connection at the end).
  await using redis = await RedisClient.connect(options);
  // Network I/O: write a hash (hmset_dict in old aioredis, HSET today).
  await redis.hset("car", { key1: 1, key2: 2, key3: 3 });
  // Network I/O: read it back, decoded as UTF-8.
  const result = await redis.hgetall("car");
  console.log(`${name}: car = ${JSON.stringify(result)}`);
  console.log(`${name}: end`);
}

// Example 1: one job.
await execute("job 1");

// Example 2: two jobs at once; their awaits interleave.
const jobs = [createTask(() => execute("job 2")), createTask(() => execute("job 3"))];
const { done } = await wait(jobs);
console.log(`wait(): ${done.size} jobs done`);

// The web lesson: a server whose handlers share a pool of 2 connections.
await using pool = new RedisPool({ ...options, size: 2 });
const REQUESTS = 5;
// Each handler first waits for the others (the tutorial's "some other work"
// while other requests are served), so that all of them want a connection at once.
const allArrived = new Barrier(REQUESTS);
let busy = 0;
let peak = 0;
await using server = await startServer(async (reader, writer) => {
  const request = new TextDecoder().decode(await reader.readLine()).trim();
  while ((await reader.readLine()).length > 2); // the header fields
  await allArrived.wait();
  const result = await pool.use(async (redis) => {
    peak = Math.max(peak, ++busy);
    try {
      await redis.hset("car", { key1: 1, key2: 2 });
      return await redis.hgetall("car");
    } finally {
      busy--;
    }
  });
  const body = JSON.stringify(result);
  console.log(`${request} -> ${body}`);
  writer.write(
    `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
  );
}, { host: "127.0.0.1", port: 0 });

const url = `http://127.0.0.1:${server.addr.port}/red`;
const bodies = await Promise.all(
  Array.from({ length: REQUESTS }, () => fetch(url).then((response) => response.text())),
);
console.log(`${bodies.length} requests served, at most ${peak} Redis connections busy at once`);
