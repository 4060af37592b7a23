/**
 * The example Redis client against a real `redis-server` (one for the whole
 * file, started on a free loopback port with persistence off): every reply
 * type in RESP2 and RESP3, binary safety, errors, pipelining, transactions,
 * pub/sub, a pool with a blocking command, ACL logins, a server killed
 * mid-pipeline and cancellation at every await of a command.
 *
 * @module
 */

import {
  assert,
  assertEquals,
  assertGreater,
  assertInstanceOf,
  assertRejects,
  assertStrictEquals,
} from "@std/assert";
import {
  CancelledError,
  createTask,
  isCancellation,
  sleep,
  timeout,
  TimeoutError,
} from "../mod.ts";
import {
  PubSubMessage,
  RedisClient,
  type RedisClientOptions,
  RedisConnectionError,
  RedisError,
  RedisPool,
  RespPush,
  type RespValue,
  VerbatimString,
} from "../examples/redis/mod.ts";
import { ignoreOn } from "./_ignore.ts";
import { cert } from "./fixtures/tls.ts";
import { type RedisServer, startRedisServer } from "./_redis_server.ts";

const text = (s: string) => new TextEncoder().encode(s);

/** Polls `check` (bounded) until it holds: waiting on the server's state, not on a delay. */
async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 2_000; i++) {
    if (await check()) return;
    await sleep(5);
  }
  throw new Error(`Gave up waiting until ${what}`);
}

Deno.test({
  name: "redis: the example client against a real redis-server",
  ignore: ignoreOn("windows", "Redis has no Windows build: these tests need a real redis-server"),
}, async (t) => {
  await using server = await startRedisServer([], { tls: true });
  const base: RedisClientOptions = { port: server.port };
  await using admin = await RedisClient.connect(base);

  for (const protocol of [2, 3] as const) {
    await t.step(`every reply type, RESP${protocol}`, async () => {
      const pushes: RespPush[] = [];
      await using r = await RedisClient.connect({
        ...base,
        protocol,
        onPush: (p) => void pushes.push(p),
      });
      assertEquals(r.protocol, protocol);
      const debug = (type: string) => r.command(["DEBUG", "PROTOCOL", type], { decode: true });
      const three = protocol === 3;
      assertEquals(await r.send("PING"), "PONG"); // simple string
      assertEquals(await debug("string"), "Hello World"); // bulk string
      assertEquals(await debug("integer"), 12345);
      assertEquals(await debug("double"), three ? 3.141 : "3.141");
      assertEquals(
        await debug("bignum"),
        three ? 1234567999999999999999999999999999999n : "1234567999999999999999999999999999999",
      );
      assertStrictEquals(await debug("null"), null);
      assertEquals(await debug("array"), [0, 1, 2]);
      assertEquals(await debug("set"), three ? new Set([0, 1, 2]) : [0, 1, 2]);
      assertEquals(
        await debug("map"),
        three ? new Map([[0, false], [1, true], [2, false]]) : [0, 0, 1, 1, 2, 0],
      );
      assertEquals(await debug("true"), three ? true : 1);
      assertEquals(await debug("false"), three ? false : 0);
      const verbatim = await debug("verbatim");
      if (three) {
        assertInstanceOf(verbatim, VerbatimString);
        assertEquals([verbatim.format, verbatim.text], ["txt", "This is a verbatim\nstring"]);
      } else {
        assertEquals(verbatim, "This is a verbatim\nstring");
      }
      // An attribute is read and dropped; the reply follows it.
      assertEquals(await debug("attrib"), "Some real reply following the attribute");
      if (three) {
        assertEquals(await debug("push"), "Some real reply following the push reply");
        assertEquals(pushes.length, 1);
        assertInstanceOf(pushes[0], RespPush);
        assertEquals(pushes[0].kind, "server-cpu-usage");
        assertEquals(pushes[0].data, [42]);
      } else {
        const e = await assertRejects(() => debug("push"), RedisError);
        assertEquals(e.code, "ERR");
      }
      // Integers past 2^53 are bigints; a nested array with a null inside.
      await r.send("SET", "big", "9007199254740993");
      assertEquals(await r.send("INCRBY", "big", 0), 9007199254740993n);
      assertEquals(await r.send("INCRBY", "big", -9007199254740000), 993);
      await r.send("DEL", "l");
      await r.lpush("l", "c", "b", "a");
      assertEquals(await r.command(["LRANGE", "l", 0, -1], { decode: true }), ["a", "b", "c"]);
      assertEquals(
        await r.command(["EVAL", "return {1, {2, {3, 'x'}}, false}", 0], { decode: true }),
        [1, [2, [3, "x"]], null],
      );
      // An error inside an aggregate is a value.
      const inner = await r.send("EVAL", "return {1, redis.error_reply('MYERR inner')}", 0);
      assertInstanceOf((inner as RespValue[])[1], RedisError);
      assertEquals(((inner as RespValue[])[1] as RedisError).code, "MYERR");
      await r.hset("car", { key1: 1, key2: 2 });
      assertEquals(await r.hgetall("car"), { key1: "1", key2: "2" });
      assertEquals(await r.hgetall("no-such-hash"), {});
    });
  }

  await t.step("binary keys and values, large values", async () => {
    await using r = await RedisClient.connect(base);
    const all = new Uint8Array(256).map((_, i) => i);
    const key = new Uint8Array([0, 13, 10, 36, 255, 42, 13]);
    assertEquals(await r.set(key, all), "OK");
    assertEquals(await r.getBytes(key), all);
    assertEquals(await r.send("STRLEN", key), 256);
    const big = new Uint8Array(3 * 1024 * 1024).map((_, i) => (i * 31) & 255);
    await r.set("big-value", big);
    assertEquals(await r.getBytes("big-value"), big);
    await r.set("unicode ключ 🔑", "значение ✓");
    assertEquals(await r.get("unicode ключ 🔑"), "значение ✓");
    assertStrictEquals(await r.get("missing"), null);
    assertEquals(await r.del(key, "big-value", "missing"), 2);
  });

  await t.step("errors are typed, with the server's code; the connection goes on", async () => {
    await using r = await RedisClient.connect(base);
    await r.set("str", "x");
    const wrong = await assertRejects(() => r.lpush("str", "y"), RedisError);
    assertEquals(wrong.code, "WRONGTYPE");
    const unknown = await assertRejects(() => r.send("NO-SUCH-COMMAND"), RedisError);
    assertEquals(unknown.code, "ERR");
    assert(unknown.message.includes("unknown command"), unknown.message);
    const arity = await assertRejects(() => r.send("GET"), RedisError);
    assertEquals(arity.code, "ERR");
    assertEquals(await r.get("str"), "x");
    await assertRejects(
      // deno-lint-ignore no-explicit-any
      () => r.send("SET", "k", undefined as any),
      TypeError,
      "argument 2 must be a string, Uint8Array, number or bigint: current value is undefined",
    );
    await assertRejects(() => r.send(), TypeError, "at least a name");
    assertEquals(await r.incr("after-errors"), 1);
  });

  await t.step("automatic pipelining: 10,000 commands in one turn, replies in order", async () => {
    await using r = await RedisClient.connect(base);
    await r.del("counter");
    const replies = await Promise.all(Array.from({ length: 10_000 }, () => r.incr("counter")));
    assertEquals(replies, Array.from({ length: 10_000 }, (_, i) => i + 1));
    const pipe = r.pipeline();
    for (let i = 0; i < 10_000; i++) pipe.set(`p:${i}`, i).get(`p:${i}`);
    const out = await pipe.exec();
    assertEquals(out.length, 20_000);
    for (let i = 0; i < 10_000; i++) {
      assertEquals(out[2 * i], "OK");
      assertEquals(out[2 * i + 1], String(i));
    }
    // An error in a pipeline takes its place; the others are unaffected.
    const mixed = await r.pipeline().set("m", "1").send("LPUSH", "m", "x").get("m").exec();
    assertEquals(mixed[0], "OK");
    assertEquals((mixed[1] as RedisError).code, "WRONGTYPE");
    assertEquals(mixed[2], "1");
    assertEquals(await r.pipeline().exec(), []);
  });

  await t.step("MULTI/EXEC, EXECABORT and WATCH", async () => {
    await using r = await RedisClient.connect(base);
    await r.del("tx");
    assertEquals(await r.multi().incr("tx").incr("tx").get("tx").exec(), [1, 2, "2"]);
    // A command refused while queued aborts the transaction.
    const abort = await assertRejects(
      () => r.multi().incr("tx").send("SET", "only-a-key").exec(),
      RedisError,
    );
    assertEquals(abort.code, "EXECABORT");
    assertEquals((abort.cause as RedisError).code, "ERR");
    assertEquals(await r.get("tx"), "2");
    // A command failing at run time is an error in its place.
    await r.set("s", "text");
    const ran = await r.multi().incr("tx").send("INCR", "s").exec();
    assertEquals(ran![0], 3);
    assertEquals((ran![1] as RedisError).code, "ERR");
    // WATCH: a change by another client makes EXEC return null.
    await using watcher = await RedisClient.connect(base);
    await watcher.send("WATCH", "tx");
    await r.incr("tx");
    assertStrictEquals(await watcher.multi().incr("tx").exec(), null);
  });

  for (const protocol of [2, 3] as const) {
    await t.step(`pub/sub with several channels and patterns, RESP${protocol}`, async () => {
      await using r = await RedisClient.connect({ ...base, protocol });
      const sub = await r.subscribe("ch1", "ch2");
      await sub.psubscribe("news.*", "user.?");
      assertEquals([...sub.channels].sort(), ["ch1", "ch2"]);
      assertEquals([...sub.patterns].sort(), ["news.*", "user.?"]);
      assertEquals(await r.publish("ch1", "one"), 1);
      assertEquals(await r.publish("news.tech", "two"), 1);
      assertEquals(await r.publish("ch2", text("\r\nthree\u0000")), 1);
      assertEquals(await r.publish("user.a", "four"), 1);
      assertEquals(await r.publish("nobody", "lost"), 0);
      const got: [string, string | undefined, string][] = [];
      for await (const message of sub) {
        assertInstanceOf(message, PubSubMessage);
        got.push([message.channel, message.pattern, message.text]);
        if (got.length === 4) break;
      }
      assertEquals(got, [
        ["ch1", undefined, "one"],
        ["news.tech", "news.*", "two"],
        ["ch2", undefined, "\r\nthree\u0000"],
        ["user.a", "user.?", "four"],
      ]);
      // Leaving the loop unsubscribed and closed the connection.
      await until("the subscriber is gone", async () => {
        const numsub = await r.command(["PUBSUB", "NUMSUB", "ch1", "ch2"]) as RespValue[];
        return numsub[1] === 0 && numsub[3] === 0 && await r.send("PUBSUB", "NUMPAT") === 0;
      });
    });
  }

  await t.step("pub/sub: cancelling the loop's task unsubscribes", async () => {
    await using r = await RedisClient.connect(base);
    const sub = await r.subscribe("cancel-me");
    const listener = createTask(async () => {
      for await (const _ of sub) { /* none come */ }
    });
    await until("subscribed", async () => (await r.publish("cancel-me", "x")) === 1);
    listener.cancel();
    await assertRejects(() => listener, CancelledError);
    await until("unsubscribed", async () => (await r.publish("cancel-me", "x")) === 0);
  });

  await t.step("a pool: BLPOP blocks one connection while other commands proceed", async () => {
    await using pool = new RedisPool({ ...base, size: 3 });
    await admin.del("jobs");
    const popped = createTask(() => pool.use((c) => c.blpop("jobs", 0)));
    await until("BLPOP is blocked", async () => {
      const info = await admin.command(["INFO", "clients"], { decode: true }) as string;
      return /blocked_clients:1\b/.test(info);
    });
    // Other commands, on the pool and on another client, proceed meanwhile.
    const others = await Promise.all(
      Array.from({ length: 20 }, (_, i) => pool.use((c) => c.send("ECHO", `e${i}`))),
    );
    assertEquals(others.length, 20);
    assertEquals(await admin.incr("while-blocked"), 1);
    assert(!popped.done());
    assertEquals(await admin.lpush("jobs", "job-1"), 1);
    assertEquals(await popped, ["jobs", "job-1"]);
    assert(pool.size <= 3);

    // A cancelled BLPOP closes its connection; that client reconnects.
    const lease = await pool.acquire();
    const waiting = createTask(() => lease.client.blpop("never", 0));
    await until("BLPOP is blocked", async () => {
      const info = await admin.command(["INFO", "clients"], { decode: true }) as string;
      return /blocked_clients:1\b/.test(info);
    });
    waiting.cancel();
    await assertRejects(() => waiting, CancelledError);
    await until("the cancelled BLPOP's connection is gone", async () => {
      const info = await admin.command(["INFO", "clients"], { decode: true }) as string;
      return /blocked_clients:0\b/.test(info);
    });
    await admin.lpush("never", "late");
    assertEquals(await lease.client.send("ECHO", "fresh"), text("fresh"));
    assertEquals(await admin.send("LLEN", "never"), 1);
    lease.release();
    lease.release();
  });

  await t.step("AUTH with an ACL user and with a password, SELECT", async () => {
    await admin.send("ACL", "SETUSER", "alice", "on", ">wonderland", "~*", "&*", "+@all");
    for (const protocol of [2, 3] as const) {
      await using alice = await RedisClient.connect({
        ...base,
        protocol,
        username: "alice",
        password: "wonderland",
      });
      assertEquals(await alice.command(["ACL", "WHOAMI"], { decode: true }), "alice");
      const wrong = await assertRejects(
        () => RedisClient.connect({ ...base, protocol, username: "alice", password: "no" }),
        RedisError,
      );
      assertEquals(wrong.code, "WRONGPASS");
    }
    await using db3 = await RedisClient.connect({ ...base, db: 3 });
    await db3.set("in-db-3", "yes");
    assertEquals(await db3.get("in-db-3"), "yes");
    assertStrictEquals(await admin.get("in-db-3"), null);
    await assertRejects(() => RedisClient.connect({ ...base, db: 99 }), RedisError, "DB index");
    // A password for the default user.
    await admin.send("CONFIG", "SET", "requirepass", "s3cret");
    try {
      await using authed = await RedisClient.connect({ ...base, password: "s3cret" });
      assertEquals(await authed.command(["ACL", "WHOAMI"], { decode: true }), "default");
      const refused = await assertRejects(() => RedisClient.connect(base), RedisError);
      assertEquals(refused.code, "NOAUTH");
      await authed.send("CONFIG", "SET", "requirepass", "");
    } finally {
      // admin logged in before the password was set, so it still may.
      await admin.send("CONFIG", "SET", "requirepass", "");
    }
  });

  await t.step("TLS through openConnection's tls", async () => {
    await using r = await RedisClient.connect({
      port: server.tlsPort,
      tls: { caCerts: [cert] },
    });
    await r.set("over-tls", "secret");
    assertEquals(await r.get("over-tls"), "secret");
    assertEquals(await admin.get("over-tls"), "secret");
    // Without trusting the test certificate the handshake fails: a connection error.
    await assertRejects(
      () => RedisClient.connect({ port: server.tlsPort, tls: true, reconnect: { attempts: 1 } }),
      RedisConnectionError,
      "Cannot connect to Redis",
    );
  });

  await t.step("timeouts: connect to a silent port, and a command", async () => {
    using silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (silent.addr as Deno.NetAddr).port;
    const accepted = silent.accept();
    await assertRejects(
      () => RedisClient.connect({ port, connectTimeout: 50, reconnect: { attempts: 1 } }),
      TimeoutError,
    );
    (await accepted).close();
    // A command cancelled while its client is still connecting (the server
    // accepted, and never answers the login) ends at once.
    const hanging = new RedisClient({ port, connectTimeout: 60_000, reconnect: { attempts: 1 } });
    const command = createTask(() => hanging.get("x"));
    const stuck = await silent.accept();
    command.cancel();
    await assertRejects(() => command, CancelledError);
    stuck.close();
    await hanging.close();
    await using r = await RedisClient.connect({ ...base, commandTimeout: 5_000 });
    await admin.del("empty");
    await assertRejects(
      () => r.command(["BLPOP", "empty", 0], { timeout: 30 }),
      TimeoutError,
      "timed out after 30 ms",
    );
    // The connection was closed and replaced: the next command gets its own reply.
    assertEquals(await r.send("ECHO", "next"), text("next"));
    await assertRejects(
      () =>
        RedisClient.connect({ port: freeClosedPort(), reconnect: { attempts: 2, minDelay: 1 } }),
      RedisConnectionError,
      "Cannot connect to Redis",
    );
    assertThrowsRange(() => new RedisClient({ port: -1 }), "'port' must be an integer >= 0");
    assertThrowsRange(() => new RedisPool({ size: 0 }), "'size' must be an integer >= 1");
  });

  await t.step("cancellation at every await of a command keeps replies in step", async () => {
    // The operation: five awaits (commands, a pipeline, a transaction) on a
    // shared client. Before the awaited command `gate` it slips a BLPOP on
    // an empty list into the pipeline, so that command's reply is held by
    // the server until the test pushes to the list: the cancel then lands
    // exactly while that reply is in flight, or m turns after it arrived.
    await using r = await RedisClient.connect(base);
    await r.del("c:count");
    const STEPS = 5;
    const checkInStep = async (marker: string) => {
      assertEquals(await r.send("ECHO", marker), text(marker));
      const count = await r.command(["GET", "c:count"], { decode: true });
      assertEquals(await r.incr("c:count"), Number(count) + 1);
    };
    let cut = 0;
    let runs = 0;
    for (const mode of ["task.cancel()", "signal"] as const) {
      for (let gate = 0; gate < STEPS; gate++) {
        for (let m = -1; m < 12; m++) {
          runs++;
          const controller = new AbortController();
          const signal = mode === "signal" ? controller.signal : undefined;
          const marker = `${mode}:${gate}:${m}`;
          const list = `c:gate:${runs}`;
          let step = -1;
          let held: Promise<unknown> | undefined;
          const at = (i: number) => {
            step = i;
            if (i === gate) held = r.command(["BLPOP", list, 0], { timeout: Infinity });
          };
          const op = createTask(async () => {
            at(0);
            await r.command(["SET", "c:last", marker], { signal });
            at(1);
            await r.command(["INCR", "c:count"], { signal });
            at(2);
            assertEquals(await r.command(["GET", "c:last"], { signal, decode: true }), marker);
            at(3);
            await r.pipeline().incr("c:count").get("c:last").exec({ signal });
            at(4);
            assertEquals((await r.multi().incr("c:count").exec({ signal }))!.length, 1);
          });
          // Parked on the held reply: the command is written, its reply cannot come yet.
          while (step < gate) await sleep(0);
          if (m >= 0) {
            // Let the reply come, then m turns (a microtask each, every 4th
            // a trip through the event loop) before the cancel.
            await admin.lpush(list, "go");
            await held;
            for (let i = 0; i < m && !op.done(); i++) {
              if (i % 4 === 3) await sleep(0);
              else await Promise.resolve();
            }
          }
          if (mode === "signal") controller.abort(new CancelledError("stop"));
          else op.cancel();
          try {
            await op;
          } catch (e) {
            if (!isCancellation(e)) throw e;
            cut++;
          }
          if (m < 0) {
            await admin.lpush(list, "go");
            assertEquals(await held, [text(list), text("go")]);
          }
          // Whatever was cut short, the next replies are the right ones.
          await checkInStep(marker);
        }
      }
    }
    // Every run parked on a held reply (m = -1) was cut there, and some after it.
    assertGreater(cut, 2 * STEPS, `only ${cut} of ${runs} runs were cut short`);
    assert(cut < runs, "no run completed");
    // Cancelled while connecting: the next command connects and works.
    const fresh = new RedisClient(base);
    const first = createTask(() => fresh.get("c:last"));
    first.cancel();
    await assertRejects(() => first, CancelledError);
    assertEquals(await fresh.send("ECHO", "after"), text("after"));
    // Cancelled inside a timeout block (the Future links to its scope).
    await admin.del("empty");
    await assertRejects(
      () => timeout(20, () => fresh.command(["BLPOP", "empty", 0])),
      TimeoutError,
    );
    assertEquals(await fresh.send("ECHO", "after timeout"), text("after timeout"));
    await fresh.close();
  });

  // Last: it kills the server (then restarts it).
  await t.step(
    "the server killed mid-pipeline: typed errors, then a working reconnect",
    async () => {
      await killMidPipeline(server, base);
    },
  );
});

async function killMidPipeline(server: RedisServer, base: RedisClientOptions): Promise<void> {
  await using r = await RedisClient.connect({
    ...base,
    reconnect: { attempts: 100, minDelay: 5, maxDelay: 50 },
  });
  await r.del("jobs-never");
  // The BLPOP holds the pipeline: what comes after it is still in flight when the server dies.
  const before = Array.from({ length: 100 }, (_, i) => r.send("ECHO", `before ${i}`));
  const blocked = r.send("BLPOP", "jobs-never", 0);
  const after = Array.from({ length: 10_000 }, () => r.incr("after"));
  const outcome = Promise.allSettled([...before, blocked, ...after]);
  await Promise.all(before);
  await server.kill();
  const settled = await outcome;
  for (let i = 0; i < 100; i++) assertEquals(settled[i].status, "fulfilled");
  for (const s of settled.slice(100)) {
    assertEquals(s.status, "rejected");
    assertInstanceOf((s as PromiseRejectedResult).reason, RedisConnectionError);
  }
  await server.restart();
  assertEquals(await r.incr("after"), 1);
  assertEquals(await r.send("ECHO", "back"), text("back"));
}

function freeClosedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

function assertThrowsRange(fn: () => unknown, message: string): void {
  try {
    fn();
  } catch (e) {
    assertInstanceOf(e, RangeError);
    assert(e.message.includes(message), e.message);
    return;
  }
  throw new Error("expected a RangeError");
}
