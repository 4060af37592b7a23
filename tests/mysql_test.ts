/**
 * The examples' MySQL client against a real MariaDB server, started once
 * for this whole file (see `_mariadb.ts`): every authentication plugin,
 * the TLS upgrade, each column type through both protocols, a 20 MiB BLOB,
 * several result sets, server errors, a million rows streamed, the pool
 * under load, cancellation at every await of a query, and the server
 * killed in the middle of a result.
 */

import { ignoreOn } from "./_ignore.ts";
import { assert, assertEquals, assertLess, assertRejects, assertStringIncludes } from "@std/assert";
import {
  CancelledError,
  createTask,
  Event,
  InvalidStateError,
  startServer,
  TimeoutError,
} from "../mod.ts";
import {
  type ConnectOptions,
  MysqlConnection,
  MysqlConnectionLostError,
  MysqlError,
  MysqlPool,
  MysqlProtocolError,
  type Row,
} from "../examples/mysql/mod.ts";
import { PacketBuilder } from "../examples/mysql/buffer.ts";
import { PacketReader, writePacket } from "../examples/mysql/framing.ts";
import { type ConnectionPlan, startFaultProxy } from "./_fault_proxy.ts";
import { DATABASE, type MariaDb, startMariaDb, USERS } from "./_mariadb.ts";
import { runDeno } from "./_run.ts";

Deno.test({
  name: "mysql client against a real MariaDB server",
  ignore: ignoreOn("windows", "the MariaDB fixture starts mariadbd with a Unix socket"),
}, async (t) => {
  await using server = await startMariaDb();
  const native: ConnectOptions = { port: server.port, ...USERS.native, database: DATABASE };
  const connect = (extra: Partial<ConnectOptions> = {}) =>
    MysqlConnection.connect({ ...native, ...extra });

  await t.step("every authentication plugin, and a wrong password", async () => {
    for (const [name, user] of Object.entries(USERS)) {
      if (name === "tlsOnly") continue;
      await using db = await connect(user);
      const { rows } = await db.query("SELECT CURRENT_USER() AS who");
      assertEquals(rows, [{ who: `${user.user}@127.0.0.1` }]);
    }
    // ed_user's plugin is not the server's default: the server sends an auth switch request.
    await using db = await connect(USERS.native);
    const { rows } = await db.query(
      "SELECT user AS user, plugin FROM mysql.user WHERE user IN ('ed_user', 'native_user') ORDER BY user",
    );
    assertEquals(rows, [
      { user: "ed_user", plugin: "ed25519" },
      { user: "native_user", plugin: "mysql_native_password" },
    ]);
    for (const user of [USERS.native, USERS.ed25519]) {
      const e = await assertRejects(() => connect({ ...user, password: "wrong" }), MysqlError);
      assertEquals([e.code, e.sqlState], [1045, "28000"]);
    }
  });

  await t.step("TLS upgrade during the handshake", async () => {
    const tls = { caCerts: [server.caCert] };
    await using db = await connect({ ...USERS.tlsOnly, tls });
    const { rows } = await db.query("SHOW SESSION STATUS LIKE 'Ssl_version'");
    assertStringIncludes(String(rows[0].Value), "TLSv1");
    // The same user without TLS is refused (REQUIRE SSL).
    const e = await assertRejects(() => connect(USERS.tlsOnly), MysqlError);
    assertEquals(e.code, 1045);
    // An untrusted certificate fails the upgrade.
    await assertRejects(() => connect({ tls: true }));
    // ed25519 over TLS too.
    await using ed = await connect({ ...USERS.ed25519, tls });
    assertEquals((await ed.query("SELECT 1 AS one")).rows, [{ one: 1 }]);
  });

  await using db = await connect();

  await t.step("each column type round trips through both protocols", async () => {
    await db.query(`CREATE TABLE types (
      id INT PRIMARY KEY, t TINYINT, tu TINYINT UNSIGNED, s SMALLINT, m MEDIUMINT, i INT,
      iu INT UNSIGNED, b BIGINT, bu BIGINT UNSIGNED, f FLOAT, d DOUBLE, n DECIMAL(30,10),
      y YEAR, dt DATE, tm TIME(3), dtm DATETIME(6), ts TIMESTAMP NULL, c CHAR(5),
      vc VARCHAR(50), tx TEXT, bn BINARY(4), vb VARBINARY(10), bl BLOB, en ENUM('a','b'),
      st SET('x','y'), bt BIT(12), js JSON)`);
    const blob = crypto.getRandomValues(new Uint8Array(1000));
    const expected: Row = {
      id: 1,
      t: -128,
      tu: 255,
      s: -32768,
      m: -8388608,
      i: -2147483648,
      iu: 4294967295,
      b: -9223372036854775808n,
      bu: 18446744073709551615n,
      f: 1.5,
      d: Math.PI,
      n: "12345678901234567890.0123456789",
      y: 2024,
      dt: "2024-02-29",
      tm: "-25:30:15.250",
      dtm: "2024-02-29 23:59:58.123456",
      ts: "2024-01-02 03:04:05",
      c: "abc",
      vc: "h\u00e9llo w\u00f6rld \u2713 \u{1f600}",
      tx: "a text longer than twenty-four characters, decoded by TextDecoder",
      bn: new Uint8Array([1, 2, 3, 4]),
      vb: new Uint8Array([0, 255, 128]),
      bl: blob,
      en: "b",
      st: "x,y",
      bt: 0xabcn,
      js: '{"k": [1, 2]}',
    };
    const columns = Object.keys(expected);
    const values = columns.map((k) => k === "bt" ? 0xabc : expected[k]);
    const marks = columns.map(() => "?").join(", ");
    await db.query(`INSERT INTO types (${columns.join(", ")}) VALUES (${marks})`, values);
    await db.query(`INSERT INTO types (id) VALUES (2)`);
    const nulls: Row = Object.fromEntries(columns.map((k) => [k, k === "id" ? 2 : null]));
    const text = await db.query("SELECT * FROM types ORDER BY id");
    const binary = await db.query("SELECT * FROM types ORDER BY id", []);
    assertEquals(text.rows, [expected, nulls]);
    assertEquals(binary.rows, [expected, nulls]);
    // Parameters go through the binary protocol both ways, never into the SQL text.
    const tricky = "'; DROP TABLE types; --";
    assertEquals((await db.query("SELECT ? AS v", [tricky])).rows, [{ v: tricky }]);
  });

  await t.step("several result sets", async () => {
    await db.query(
      "CREATE PROCEDURE two_sets(IN n INT) BEGIN SELECT n AS a; SELECT n + 1 AS b, 'x' AS c; END",
    );
    const results = await db.queryAll("SELECT 1 AS one; DO 0; SELECT 'two' AS two, NULL AS z");
    assertEquals(results.map((r) => r.rows), [[{ one: 1 }], [], [{ two: "two", z: null }]]);
    const called = await db.queryAll("CALL two_sets(?)", [5]);
    assertEquals(called.map((r) => r.rows), [[{ a: 5 }], [{ b: 6n, c: "x" }], []]);
    await assertRejects(() => db.query("SELECT 1; SELECT 2"), TypeError, "use queryAll()");
    assertEquals((await db.query("SELECT 3 AS three")).rows, [{ three: 3 }]);
  });

  await t.step(
    "rows with repeated or '__proto__' names; a statement whose columns change",
    async () => {
      for (const params of [undefined, []]) {
        const { rows: [row] } = await db.query("SELECT 1 AS a, 2 AS `__proto__`, 3 AS a", params);
        // The later column of a name wins, in the place of the first; "__proto__" is a plain key.
        assertEquals(Object.keys(row), ["a", "__proto__"]);
        assertEquals(row.a, 3);
        assertEquals(Object.getOwnPropertyDescriptor(row, "__proto__")?.value, 2);
        assertEquals(Object.getPrototypeOf(row), Object.prototype);
      }
      // A prepared statement reuses its columns while the server sends the same definitions,
      // and decodes by the new ones when they change.
      await db.query("CREATE TABLE shifting (id INT PRIMARY KEY, v INT)");
      await db.query("INSERT INTO shifting VALUES (1, 7)");
      const sql = "SELECT * FROM shifting WHERE id = ?";
      for (let i = 0; i < 3; i++) assertEquals((await db.query(sql, [1])).rows, [{ id: 1, v: 7 }]);
      await db.query("ALTER TABLE shifting MODIFY v VARCHAR(10)");
      assertEquals((await db.query(sql, [1])).rows, [{ id: 1, v: "7" }]);
      await db.query("ALTER TABLE shifting ADD w BIGINT NOT NULL DEFAULT 5");
      assertEquals((await db.query(sql, [1])).rows, [{ id: 1, v: "7", w: 5n }]);
      assertEquals((await db.query(sql, [1])).rows, [{ id: 1, v: "7", w: 5n }]);
      await db.query("DROP TABLE shifting");
    },
  );

  await t.step("server errors carry the code and SQLSTATE; the connection goes on", async () => {
    await db.query("CREATE TABLE uniq (id INT PRIMARY KEY)");
    await db.query("INSERT INTO uniq VALUES (1)");
    const cases: [() => Promise<unknown>, number, string][] = [
      [() => db.query("SELEC 1"), 1064, "42000"],
      [() => db.query("INSERT INTO uniq VALUES (1)"), 1062, "23000"],
      [() => db.query("INSERT INTO uniq VALUES (?)", [1]), 1062, "23000"],
      [() => db.query("SELECT * FROM missing_table"), 1146, "42S02"],
      [() => db.query("SELECT * FROM missing_table", []), 1146, "42S02"],
      [() => db.queryAll("SELECT 1; SELECT nope"), 1054, "42S22"],
    ];
    for (const [run, code, sqlState] of cases) {
      const e = await assertRejects(run, MysqlError);
      assertEquals([e.code, e.sqlState], [code, sqlState], e.message);
      assertEquals((await db.query("SELECT 'still here' AS ok")).rows, [{ ok: "still here" }]);
    }
    await assertRejects(() => db.query("SELECT ?", [1, 2]), RangeError, "takes 1 parameters");
    await assertRejects(() => db.query("SELECT ?", [{}] as never), TypeError, "parameter 0");
    const ok = await db.query("INSERT INTO uniq VALUES (2), (3)");
    assertEquals(ok.affectedRows, 2);
    await db.ping();
  });

  await t.step("1,000,000 rows streamed with flat memory", async () => {
    const sql = "SELECT seq AS id, CONCAT('row-', seq) AS name, seq * 2.5 AS score " +
      "FROM seq_1_to_1000000";
    // The test runs beside other test modules in one process (`--parallel`),
    // so the process's RSS is reported, and this isolate's own memory (its
    // JavaScript heap and the buffers it holds) is what must stay flat.
    const own = () => {
      const m = Deno.memoryUsage();
      return m.heapTotal + m.external;
    };
    const before = own();
    const rssBefore = Deno.memoryUsage().rss;
    let peak = before;
    let rssPeak = rssBefore;
    let count = 0, sum = 0n;
    for await (const row of db.rows(sql)) {
      count++;
      sum += row.id as bigint;
      if (count % 50_000 === 0) {
        peak = Math.max(peak, own());
        rssPeak = Math.max(rssPeak, Deno.memoryUsage().rss);
      }
      if (count === 1) assertEquals(row, { id: 1n, name: "row-1", score: "2.5" });
    }
    assertEquals(count, 1_000_000);
    assertEquals(sum, 500000500000n);
    const mib = (n: number) => (n / 1048576).toFixed(1);
    console.log(
      `heap and buffers before ${mib(before)} MiB, peak while streaming ${mib(peak)} MiB; ` +
        `process RSS before ${mib(rssBefore)} MiB, peak ${mib(rssPeak)} MiB`,
    );
    // A million row objects held at once would take several hundred MiB.
    assertLess(peak - before, 64 * 1048576);
    // Leaving the loop early kills the rest; the next query sees only its own rows.
    for await (const row of db.rows(sql)) {
      assertEquals(row.id, 1n);
      break;
    }
    assertEquals((await db.query("SELECT 'next' AS q")).rows, [{ q: "next" }]);
  });

  await t.step("a 20 MiB BLOB, split into packets of 16 MiB both ways", async () => {
    const big = new Uint8Array(20 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 65536) crypto.getRandomValues(big.subarray(i, i + 65536));
    await db.query("CREATE TABLE blobs (id INT PRIMARY KEY, data LONGBLOB)");
    await db.query("INSERT INTO blobs VALUES (1, ?)", [big]);
    const digest = async (b: Uint8Array) =>
      new Uint8Array(await crypto.subtle.digest("SHA-256", b as Uint8Array<ArrayBuffer>));
    const want = await digest(big);
    for (const params of [undefined, []]) {
      const { rows } = await db.query("SELECT data, LENGTH(data) AS n FROM blobs", params);
      assertEquals(Number(rows[0].n), big.length);
      assertEquals(await digest(rows[0].data as Uint8Array), want);
    }
    await db.query("DROP TABLE blobs");
  });

  await t.step("a pool under 50 concurrent jobs", async () => {
    await using pool = new MysqlPool({ ...native, size: 5 });
    let busy = 0, most = 0;
    // The first five jobs hold their connections until all five are busy: the pool is then full.
    const full = new Event();
    const jobs = Array.from({ length: 50 }, (_, i) =>
      createTask(async () => {
        await using lease = await pool.acquire();
        most = Math.max(most, ++busy);
        if (busy === 5) full.set();
        try {
          await full.wait();
          const { rows } = await lease.connection.query("SELECT ? + 1 AS n", [i]);
          return rows[0].n;
        } finally {
          busy--;
        }
      }));
    const plain = Array.from({ length: 50 }, (_, i) => pool.query(`SELECT ${i} AS i`));
    assertEquals(await Promise.all(jobs), Array.from({ length: 50 }, (_, i) => BigInt(i + 1)));
    assertEquals((await Promise.all(plain)).map((r) => r.rows[0].i), [...Array(50).keys()]);
    assertEquals(most, 5);
    assert(pool.openCount <= 5, `${pool.openCount} connections open`);
  });

  await t.step("cancellation at every await of a query leaves the connection usable", async () => {
    // The proxy lets the server's answer through up to byte `stall` and
    // stops there: the query is then parked at the read of that byte.
    let nextPlan: ConnectionPlan = {};
    await using proxy = await startFaultProxy({
      target: { port: server.port },
      plan: () => {
        const plan = nextPlan;
        nextPlan = {};
        return plan;
      },
    });
    const tally: string[] = [];
    for (const params of [undefined, [7]]) {
      let recovered = 0, closed = 0;
      const sql = params ? "SELECT seq, ? AS p FROM seq_1_to_3" : "SELECT seq FROM seq_1_to_3";
      // Measure the handshake, and the whole answer.
      const probe = await connect({ port: proxy.port });
      const handshake = proxy.connections.at(-1)!.state.downstream.forwarded;
      await probe.query(sql, params);
      const total = proxy.connections.at(-1)!.state.downstream.forwarded - handshake;
      await probe.close();
      for (let stall = 0; stall < total; stall++) {
        nextPlan = { downstream: { stallAt: handshake + stall } };
        const index = proxy.connections.length;
        await using db = await connect({ port: proxy.port });
        const proxied = await proxy.connection(index);
        const controller = new AbortController();
        const running = db.query(sql, params, { signal: controller.signal });
        await proxied.reached("downstream", handshake + stall);
        controller.abort(new CancelledError("stop"));
        await assertRejects(() => running, CancelledError);
        proxied.resume("downstream");
        if (db.closed) {
          // A prepare cut short closes the connection (the pool would replace it).
          assert(params !== undefined, `closed at byte ${stall} of a text query`);
          closed++;
          continue;
        }
        const { rows } = await db.query("SELECT 'after' AS a, CONNECTION_ID() = ? AS same", [
          db.threadId,
        ]);
        assertEquals(rows, [{ a: "after", same: 1 }], `after a cancel at byte ${stall}`);
        recovered++;
      }
      assert(recovered > 0);
      tally.push(
        `${params ? "binary" : "text"}: ${total} bytes, ${recovered} recovered, ${closed} closed`,
      );
    }
    console.log(tally.join("; "));
    // Cancelled while the command itself is still being sent (the server reads nothing more):
    // its answer would reach the next command, so the connection is closed.
    {
      const index = proxy.connections.length;
      nextPlan = { upstream: { stallAt: 1 << 20 } };
      await using sending = await connect({ port: proxy.port });
      const proxied = await proxy.connection(index);
      const controller = new AbortController();
      const big = new Uint8Array(8 << 20);
      const running = sending.query("SELECT LENGTH(?) AS n", [big], { signal: controller.signal });
      await proxied.reached("upstream", 1 << 20);
      controller.abort(new CancelledError("stop sending"));
      await assertRejects(() => running, CancelledError);
      assert(sending.closed);
      proxied.resume();
    }
    // Cancelled while the server works on it (KILL QUERY), and while waiting for the connection.
    await using watcher = await connect();
    const sleeping = async () => {
      for (let i = 0; i < 2000; i++) {
        const { rows } = await watcher.query(
          "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST " +
            "WHERE ID = ? AND INFO LIKE 'SELECT SLEEP%'",
          [db.threadId],
        );
        if (rows[0].n === 1n) return;
      }
      throw new Error("the query never showed up in the process list");
    };
    const first = new AbortController(), second = new AbortController();
    const running = db.query("SELECT SLEEP(60) AS s", undefined, { signal: first.signal });
    const queued = db.query("SELECT 'never' AS n", undefined, { signal: second.signal });
    await sleeping();
    second.abort(new CancelledError("queued"));
    await assertRejects(() => queued, CancelledError);
    first.abort(new CancelledError("running"));
    await assertRejects(() => running, CancelledError);
    assertEquals((await db.query("SELECT 'after kill' AS a")).rows, [{ a: "after kill" }]);
    // A query timeout is a cancellation too.
    const slow = db.query("SELECT SLEEP(60) AS s", undefined, { timeout: 100 });
    await assertRejects(() => slow, TimeoutError);
    assertEquals((await db.query("SELECT 'after timeout' AS a")).rows, [{ a: "after timeout" }]);
  });

  await t.step("ping, quit, and a connect timeout", async () => {
    const other = await connect();
    await other.ping();
    const id = other.threadId;
    await other.close();
    assert(other.closed);
    await assertRejects(() => other.query("SELECT 1"), InvalidStateError, "closed");
    // COM_QUIT ends the session on the server.
    let left = 1n;
    for (let i = 0; i < 2000 && left !== 0n; i++) {
      const { rows } = await db.query(
        "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE ID = ?",
        [id],
      );
      left = rows[0].n as bigint;
    }
    assertEquals(left, 0n);
    // A server that accepts but never greets.
    await using silent = await startServer(async (reader) => void await reader.bytes(), {
      host: "127.0.0.1",
      port: 0,
    });
    await assertRejects(
      () => connect({ port: silent.addr.port, connectTimeout: 100 }),
      TimeoutError,
    );
  });

  await t.step("the seeds' aiomysql lesson (tour 19) runs against the server", async () => {
    const { code, stdout, stderr } = await runDeno([
      "--allow-net=127.0.0.1",
      "examples/tour/19_mysql.ts",
      "--port",
      String(server.port),
      "--user",
      USERS.native.user,
      "--password",
      USERS.native.password,
    ]);
    assertEquals(code, 0, stderr);
    for (const line of ["job 127.0.0.1:", "native_user", "wrong password: MysqlError 1045"]) {
      assertStringIncludes(stdout, line);
    }
  });

  await t.step("the server killed in the middle of a result, then a reconnect", async () => {
    await killMidResult(server, native);
  });

  await db.close();
});

async function killMidResult(server: MariaDb, options: ConnectOptions): Promise<void> {
  await using pool = new MysqlPool({ ...options, size: 2 });
  let seen = 0;
  const e = await assertRejects(async () => {
    for await (const _ of pool.rows("SELECT seq FROM seq_1_to_10000000")) {
      if (++seen === 1000) await server.kill();
    }
  }, MysqlConnectionLostError);
  assert(!(e instanceof MysqlProtocolError));
  assert(seen >= 1000 && seen < 10_000_000, `${seen} rows`);
  assertEquals(pool.openCount, 0);
  await server.restart();
  assertEquals((await pool.query("SELECT 'back' AS b")).rows, [{ b: "back" }]);
}

Deno.test("the client refuses bad options with typed errors", async () => {
  await assertRejects(() => MysqlConnection.connect({} as ConnectOptions), TypeError, "'user'");
  await assertRejects(
    () => MysqlConnection.connect({ user: "u", connectTimeout: -1 }),
    RangeError,
    "'connectTimeout'",
  );
});

Deno.test("a server defaulting to an unknown plugin gets a native answer; an unknown switch is a typed error", async () => {
  let answeredWith = "";
  await using fake = await startServer(async (reader, writer) => {
    const greeting = new PacketBuilder().u8(10).nulString("8.0.0-fake").u32(7)
      .bytes(new Uint8Array(8).fill(1)).u8(0).u16(0x8200).u8(45).u16(2).u16(0x0008).u8(21)
      .zeros(10).bytes(new Uint8Array(12).fill(2)).u8(0).nulString("caching_sha2_password")
      .finish();
    writePacket(writer, greeting, 0);
    const packets = new PacketReader(reader);
    packets.sequenceId = 1;
    const response = await packets.read();
    answeredWith = new TextDecoder().decode(response.subarray(-22, -1));
    const change = new PacketBuilder().u8(0xfe).nulString("sha256_password")
      .bytes(new Uint8Array(20).fill(3)).u8(0).finish();
    writePacket(writer, change, packets.sequenceId);
    await reader.bytes();
  }, { host: "127.0.0.1", port: 0 });
  await assertRejects(
    () => MysqlConnection.connect({ port: fake.addr.port, user: "u", password: "p" }),
    MysqlProtocolError,
    '"sha256_password"',
  );
  assertEquals(answeredWith, "mysql_native_password");
});
