/**
 * The example Redis client (`examples/redis/`) side by side with `ioredis`
 * and `node-redis` (`npm:redis`), on the same local `redis-server`, which
 * this file starts on a free loopback port (persistence off) and stops at
 * the end.
 *
 *     deno task bench bench/redis_bench.ts
 *
 * Groups:
 * - 50 workers share one connection, each doing SET then GET 200 times
 *   (20,000 commands a run): what automatic pipelining gives to concurrent
 *   callers. ioredis runs twice, with and without its `enableAutoPipelining`.
 * - 10,000 explicit pipelines of 100 GETs, one after the other (1,000,000
 *   GETs a run): the parser and writer under many small replies.
 *
 * Every bench checks the replies it got, so a wrong client cannot look fast.
 */
import { Redis as IORedis } from "ioredis";
import { createClient } from "redis";
import { RedisClient } from "../examples/redis/mod.ts";
import { startRedisServer } from "../tests/_redis_server.ts";

const server = await startRedisServer();
globalThis.addEventListener("unload", () => server.stopNow());

const WORKERS = 50;
const ROUNDS = 200;
const PIPELINES = 10_000;
const DEPTH = 100;
const KEYS = Array.from({ length: DEPTH }, (_, i) => `bench:key:${i}`);
const VALUE = (i: number) => `value-${i}-${"x".repeat(16)}`;

const aio = await RedisClient.connect({ port: server.port });
const ioredis = new IORedis({ port: server.port, host: "127.0.0.1", lazyConnect: true });
await ioredis.connect();
const ioredisAuto = new IORedis({
  port: server.port,
  host: "127.0.0.1",
  lazyConnect: true,
  enableAutoPipelining: true,
});
await ioredisAuto.connect();
const nodeRedis = createClient({ socket: { host: "127.0.0.1", port: server.port } });
await nodeRedis.connect();

for (let i = 0; i < DEPTH; i++) await aio.set(KEYS[i], VALUE(i));

function check(what: string, got: unknown, want: unknown): void {
  if (got !== want) throw new Error(`${what}: got ${got}, expected ${want}`);
}

interface Client {
  set(key: string, value: string): Promise<unknown>;
  get(key: string): Promise<string | null>;
}

/** 50 workers on one connection, each SET then GET of its own key, 200 times. */
async function workers(client: Client): Promise<void> {
  await Promise.all(Array.from({ length: WORKERS }, async (_, w) => {
    const key = `bench:worker:${w}`;
    for (let i = 0; i < ROUNDS; i++) {
      const value = `${w}:${i}`;
      await client.set(key, value);
      check("GET", await client.get(key), value);
    }
  }));
}

const RUNS = { n: 5, warmup: 1 };
const GROUP_A = `50 workers x 200 x (SET + GET), one connection`;
const GROUP_B = `10,000 pipelines of 100 GETs`;

Deno.bench("aio example client", { group: GROUP_A, baseline: true, ...RUNS }, async () => {
  await workers(aio);
});
Deno.bench("ioredis", { group: GROUP_A, ...RUNS }, async () => {
  await workers(ioredis);
});
Deno.bench("ioredis, enableAutoPipelining", { group: GROUP_A, ...RUNS }, async () => {
  await workers(ioredisAuto);
});
Deno.bench("node-redis", { group: GROUP_A, ...RUNS }, async () => {
  await workers(nodeRedis);
});

const PIPE_RUNS = { n: 3, warmup: 1 };

Deno.bench("aio example client", { group: GROUP_B, baseline: true, ...PIPE_RUNS }, async () => {
  for (let p = 0; p < PIPELINES; p++) {
    const pipe = aio.pipeline();
    for (const key of KEYS) pipe.get(key);
    const replies = await pipe.exec();
    check("GET", replies[p % DEPTH], VALUE(p % DEPTH));
  }
});
Deno.bench("ioredis", { group: GROUP_B, ...PIPE_RUNS }, async () => {
  for (let p = 0; p < PIPELINES; p++) {
    const pipe = ioredis.pipeline();
    for (const key of KEYS) pipe.get(key);
    const replies = (await pipe.exec())!;
    check("GET", replies[p % DEPTH][1], VALUE(p % DEPTH));
  }
});
Deno.bench("node-redis", { group: GROUP_B, ...PIPE_RUNS }, async () => {
  for (let p = 0; p < PIPELINES; p++) {
    const pipe = nodeRedis.multi();
    for (const key of KEYS) pipe.get(key);
    const replies = await pipe.execAsPipeline();
    check("GET", replies[p % DEPTH], VALUE(p % DEPTH));
  }
});
