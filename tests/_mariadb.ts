/**
 * A throwaway MariaDB server for the MySQL client's tests and bench: a
 * fresh data folder made by `mariadb-install-db` in a temporary folder,
 * `mariadbd` on a free loopback port with its own socket, TLS with the test
 * certificate, one user per authentication plugin. `stop()` ends it and
 * removes the folder. If the server cannot be had, `startMariaDb` throws
 * saying why (the caller's test then fails: nothing is skipped).
 *
 * @module
 */

import { cert } from "./fixtures/tls.ts";

/** The users the server is started with: name, password, plugin. */
export const USERS = {
  native: { user: "native_user", password: "native-pw" },
  ed25519: { user: "ed_user", password: "ed-pw \u00e9" },
  empty: { user: "empty_user", password: "" },
  tlsOnly: { user: "tls_user", password: "tls-pw" },
} as const;

/** The database created for the tests. */
export const DATABASE = "aio_test";

const INIT_SQL = `
CREATE DATABASE IF NOT EXISTS ${DATABASE} CHARACTER SET utf8mb4;
CREATE USER IF NOT EXISTS native_user@'127.0.0.1'
  IDENTIFIED VIA mysql_native_password USING PASSWORD('native-pw');
CREATE USER IF NOT EXISTS ed_user@'127.0.0.1' IDENTIFIED VIA ed25519 USING PASSWORD('ed-pw \u00e9');
CREATE USER IF NOT EXISTS empty_user@'127.0.0.1';
CREATE USER IF NOT EXISTS tls_user@'127.0.0.1' IDENTIFIED BY 'tls-pw' REQUIRE SSL;
GRANT ALL ON *.* TO native_user@'127.0.0.1';
GRANT ALL ON ${DATABASE}.* TO ed_user@'127.0.0.1';
GRANT ALL ON ${DATABASE}.* TO empty_user@'127.0.0.1';
GRANT ALL ON ${DATABASE}.* TO tls_user@'127.0.0.1';
`;

/** A running server. */
export interface MariaDb extends AsyncDisposable {
  /** Its loopback TCP port. */
  readonly port: number;
  /** The certificate it serves (PEM), to trust as a CA. */
  readonly caCert: string;
  /** The server's process id (to kill it in a test). */
  readonly pid: number;
  /** Kills the server at once (SIGKILL), as a crash would. */
  kill(): Promise<void>;
  /** Starts it again on the same data folder and port (after `kill()`). */
  restart(): Promise<void>;
  /** Stops the server and removes its folder. */
  stop(): Promise<void>;
  /** Kills the server and removes its folder without waiting (for an `unload` handler). */
  stopNow(): void;
}

function find(name: string): string {
  const path = Deno.env.get("PATH") ?? "";
  for (const dir of [...path.split(":"), "/usr/sbin", "/usr/local/sbin", "/usr/libexec"]) {
    if (dir === "") continue;
    const candidate = `${dir}/${name}`;
    try {
      if (Deno.statSync(candidate).isFile) return candidate;
    } catch {
      // not here
    }
  }
  throw new Error(
    `Cannot start MariaDB: '${name}' was not found on PATH or in /usr/sbin; ` +
      `install it (Debian: apt-get install -y mariadb-server)`,
  );
}

async function freePort(): Promise<number> {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  return await Promise.resolve((listener.addr as Deno.NetAddr).port);
}

async function run(cmd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    const dec = new TextDecoder();
    throw new Error(
      `Cannot start MariaDB: ${cmd} exited with ${out.code}:\n` +
        dec.decode(out.stdout) + dec.decode(out.stderr),
    );
  }
}

/**
 * Starts a server; it is ready for connections when this resolves.
 *
 * @returns The server.
 */
export async function startMariaDb(): Promise<MariaDb> {
  const installDb = find("mariadb-install-db");
  const mariadbd = find("mariadbd");
  const dir = await Deno.makeTempDir({ prefix: "aio-mariadb-" });
  const asRoot = Deno.uid() === 0 ? ["--user=root"] : [];
  let child: Deno.ChildProcess | undefined;
  try {
    await run(installDb, [
      "--no-defaults",
      `--datadir=${dir}/data`,
      ...asRoot,
      "--auth-root-authentication-method=socket",
      "--skip-test-db",
    ]);
    await Deno.writeTextFile(`${dir}/init.sql`, INIT_SQL);
    await Deno.writeTextFile(`${dir}/cert.pem`, cert);
    await Deno.copyFile(new URL("./fixtures/tls/localhost.key", import.meta.url), `${dir}/key.pem`);
    const port = await freePort();
    const args = [
      "--no-defaults",
      `--datadir=${dir}/data`,
      ...asRoot,
      "--bind-address=127.0.0.1",
      `--port=${port}`,
      `--socket=${dir}/mariadb.sock`,
      `--pid-file=${dir}/mariadb.pid`,
      `--log-error=${dir}/error.log`,
      `--init-file=${dir}/init.sql`,
      "--skip-name-resolve",
      "--skip-log-bin",
      "--max-allowed-packet=64M",
      "--innodb-buffer-pool-size=64M",
      "--plugin-load-add=auth_ed25519",
      `--ssl-cert=${dir}/cert.pem`,
      `--ssl-key=${dir}/key.pem`,
    ];
    const start = async () => {
      child = new Deno.Command(mariadbd, { args, stdout: "null", stderr: "null" }).spawn();
      const status = child.status;
      let exited = false;
      status.then(() => exited = true);
      for (let i = 0; i < 1200; i++) { // up to a minute
        if (exited) break;
        try {
          const conn = await Deno.connect({ hostname: "127.0.0.1", port });
          // The port opens before the init file has run; the server writes "ready" after.
          conn.close();
          const log = await Deno.readTextFile(`${dir}/error.log`).catch(() => "");
          if (log.includes("ready for connections")) return;
        } catch {
          // not listening yet
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      const log = await Deno.readTextFile(`${dir}/error.log`).catch(() => "(no log)");
      if (!exited) child.kill("SIGKILL");
      await status;
      throw new Error(`Cannot start MariaDB: mariadbd did not get ready; its log:\n${log}`);
    };
    await start();
    let stopped = false;
    const server: MariaDb = {
      port,
      caCert: cert,
      get pid() {
        return child!.pid;
      },
      async kill() {
        child!.kill("SIGKILL");
        await child!.status;
        // The next start must not see this run's "ready" line.
        await Deno.writeTextFile(`${dir}/error.log`, "");
      },
      restart: start,
      async stop() {
        if (stopped) return;
        stopped = true;
        try {
          child!.kill("SIGTERM");
        } catch {
          // already ended
        }
        await child!.status;
        await Deno.remove(dir, { recursive: true });
      },
      stopNow() {
        if (stopped) return;
        stopped = true;
        try {
          child!.kill("SIGKILL");
        } catch {
          // already ended
        }
        Deno.removeSync(dir, { recursive: true });
      },
      [Symbol.asyncDispose]() {
        return this.stop();
      },
    };
    return server;
  } catch (e) {
    if (child) {
      try {
        child.kill("SIGKILL");
      } catch {
        // ended
      }
      await child.status;
    }
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw e;
  }
}
