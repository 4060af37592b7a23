/**
 * Lesson 19 — the tutorial's aiomysql program: connect to MySQL/MariaDB,
 * run `SELECT Host, User FROM mysql.user`, fetch every row, close; two such
 * jobs at once with `wait`. Each `await` is network I/O, during which the
 * other job runs. Here the client is the examples' own
 * (`examples/mysql/`, on `openConnection` and the reader's `read`), and the
 * second job uses a wrong password, to show a server error arriving as a
 * typed `MysqlError` in its own task while the first job succeeds.
 *
 *     deno run --allow-net=127.0.0.1 examples/tour/19_mysql.ts \
 *       --port 3306 --user root --password secret
 */
import { createTask, wait } from "../../mod.ts";
import { MysqlConnection, MysqlError } from "../mysql/mod.ts";

function option(name: string, fallback: string): string {
  const at = Deno.args.indexOf(`--${name}`);
  return at >= 0 && at + 1 < Deno.args.length ? Deno.args[at + 1] : fallback;
}

const host = option("host", "127.0.0.1");
const port = Number(option("port", "3306"));
const user = option("user", "root");
const password = option("password", "");

/** The tutorial's execute(): connect, query, fetch all, close (`await using` closes). */
async function execute(password: string): Promise<string[]> {
  await using db = await MysqlConnection.connect({ host, port, user, password, database: "mysql" });
  const { rows } = await db.query("SELECT Host, User FROM user ORDER BY User");
  return rows.map((row) => `${row.Host} ${row.User}`);
}

const jobs = [createTask(() => execute(password)), createTask(() => execute(`${password}-wrong`))];
await wait(jobs);
console.log(`job ${host}:${port} (right password):`);
for (const line of jobs[0].result()) console.log(`  ${line}`);
const e = jobs[1].exception();
if (e instanceof MysqlError) console.log(`wrong password: MysqlError ${e.code} (${e.sqlState})`);
else throw e;
