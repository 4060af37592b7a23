/**
 * The examples' MySQL client side by side with `mysql2` (npm) against the
 * same local MariaDB server, which this file starts (see
 * `tests/_mariadb.ts`) and fills with a 100,000-row table of 5 columns:
 *
 * - 10,000 point SELECTs by primary key from 10 concurrent workers over a
 *   pool of 10 connections (mysql2's `execute` and `query`, and ours with
 *   parameters, i.e. prepared statements over the binary protocol);
 * - reading the whole 100,000-row table (text protocol), all at once and,
 *   for ours, streamed row by row.
 *
 *     deno task bench bench/mysql_bench.ts
 *
 * Every run checks what it read, so a client that skips work cannot look
 * fast.
 */
import mysql from "mysql2/promise";
import { MysqlPool } from "../examples/mysql/mod.ts";
import { DATABASE, startMariaDb, USERS } from "../tests/_mariadb.ts";

const ROWS = 100_000;
const SELECTS = 10_000;
const WORKERS = 10;

const server = await startMariaDb();
// deno bench has no "after all" hook: stop when the benches are done.
globalThis.addEventListener("unload", () => server.stopNow());

const options = { port: server.port, ...USERS.native, database: DATABASE };
const ours = new MysqlPool({ ...options, size: WORKERS });
const theirs = mysql.createPool({
  host: "127.0.0.1",
  ...options,
  connectionLimit: WORKERS,
  supportBigNumbers: true,
});

await ours.query(
  "CREATE TABLE points (id INT PRIMARY KEY, a INT NOT NULL, b VARCHAR(32) NOT NULL, " +
    "c DOUBLE NOT NULL, d BIGINT NOT NULL)",
);
await ours.query(
  `INSERT INTO points SELECT seq, seq % 1000, CONCAT('name-', seq), seq / 7, seq * 1000003 ` +
    `FROM seq_1_to_${ROWS}`,
);

/** 10 workers taking ids off a shared counter; returns the sum of the ids read back. */
async function pointSelects(select: (id: number) => Promise<number>): Promise<void> {
  let next = 0, sum = 0;
  await Promise.all(Array.from({ length: WORKERS }, async () => {
    while (next < SELECTS) {
      const id = (next++ * 7919) % ROWS + 1;
      sum += await select(id) - id;
    }
  }));
  if (sum !== 0) throw new Error(`point selects read the wrong rows: off by ${sum}`);
}

const POINT = "SELECT id, a, b, c, d FROM points WHERE id = ?";
type Mysql2Row = { id: number };

Deno.bench({
  name: "mysql2 pool.execute (prepared)",
  group: "10,000 point SELECTs, 10 workers",
  baseline: true,
  async fn() {
    await pointSelects(async (id) => {
      const [rows] = await theirs.execute(POINT, [id]);
      return (rows as Mysql2Row[])[0].id;
    });
  },
});

Deno.bench({
  name: "mysql2 pool.query (text)",
  group: "10,000 point SELECTs, 10 workers",
  async fn() {
    await pointSelects(async (id) => {
      const [rows] = await theirs.query(POINT, [id]);
      return (rows as Mysql2Row[])[0].id;
    });
  },
});

Deno.bench({
  name: "examples/mysql pool.query with params (prepared)",
  group: "10,000 point SELECTs, 10 workers",
  async fn() {
    await pointSelects(async (id) => (await ours.query(POINT, [id])).rows[0].id as number);
  },
});

const ALL = "SELECT id, a, b, c, d FROM points";

function checkAll(count: number, lastId: unknown): void {
  if (count !== ROWS || Number(lastId) !== ROWS) {
    throw new Error(`read ${count} rows ending with id ${lastId}, expected ${ROWS}`);
  }
}

Deno.bench({
  name: "mysql2 query",
  group: "100,000 rows of 5 columns",
  baseline: true,
  async fn() {
    const [rows] = await theirs.query(ALL);
    const list = rows as Mysql2Row[];
    checkAll(list.length, list.at(-1)?.id);
  },
});

Deno.bench({
  name: "examples/mysql query",
  group: "100,000 rows of 5 columns",
  async fn() {
    const { rows } = await ours.query(ALL);
    checkAll(rows.length, rows.at(-1)?.id);
  },
});

Deno.bench({
  name: "examples/mysql rows (streamed)",
  group: "100,000 rows of 5 columns",
  async fn() {
    let count = 0, last: unknown;
    for await (const row of ours.rows(ALL)) {
      count++;
      last = row.id;
    }
    checkAll(count, last);
  },
});
