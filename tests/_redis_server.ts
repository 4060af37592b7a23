/**
 * Test helper: a real `redis-server` (Debian's package) on a free loopback
 * port, with persistence off, in a temporary folder. If `redis-server` is
 * not installed, {@linkcode startRedisServer} throws with the reason, so the
 * tests that need it fail rather than skip.
 *
 * @module
 */

/** A running `redis-server`. */
export interface RedisServer {
  /** The loopback port it listens on. */
  readonly port: number;
  /** The port it also listens on over TLS (test certificate), with `tls: true`. */
  readonly tlsPort: number | undefined;
  /** Kills it with SIGKILL (no clean shutdown) and waits until it is gone. */
  kill(): Promise<void>;
  /** Starts it again on the same port, after {@linkcode RedisServer.kill}. */
  restart(): Promise<void>;
  /** Stops it and removes its folder. */
  stop(): Promise<void>;
  /** Stops it at once, without waiting (for an `unload` handler): SIGTERM, folder removed. */
  stopNow(): void;
  /** Stops it ({@linkcode RedisServer.stop}). */
  [Symbol.asyncDispose](): Promise<void>;
}

/** A loopback port nobody listens on right now. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** The line `redis-server` logs once it accepts connections. */
const READY = "Ready to accept connections";

interface Running {
  child: Deno.ChildProcess;
  /** Reads the rest of its output, so that the pipe never fills; ends with the process. */
  drained: Promise<void>;
}

async function launch(port: number, dir: string, extra: string[]): Promise<Running> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("redis-server", {
      args: [
        "--bind",
        "127.0.0.1",
        "--port",
        String(port),
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        dir,
        "--daemonize",
        "no",
        "--enable-debug-command",
        "local",
        "--logfile",
        "",
        ...extra,
      ],
      stdout: "piped",
      stderr: "piped",
      cwd: dir,
    }).spawn();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(
        "Cannot start redis-server: it is not installed (on Debian: apt-get install redis-server); " +
          "the Redis tests need a real server",
        { cause: e },
      );
    }
    throw e;
  }
  const stderr = child.stderr.text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let log = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) {
      const status = await child.status;
      throw new Error(
        `Cannot start redis-server on port ${port}: it exited with code ${status.code}\n${log}${await stderr}`,
      );
    }
    log += value;
    if (log.includes(READY)) break;
  }
  const drained = (async () => {
    while (!(await reader.read()).done) { /* the log is not needed */ }
    await stderr;
  })();
  return { child, drained };
}

/**
 * Starts `redis-server` on a free loopback port in a new temporary folder,
 * persistence off, `DEBUG` allowed from loopback, and waits until it accepts
 * connections.
 *
 * @param extra More command-line options.
 * @param options `tls`: also listen over TLS, with the test certificate
 * (tests/fixtures/tls), on another free port.
 * @returns The running server.
 * @throws {Error} If `redis-server` is missing or does not start.
 */
export async function startRedisServer(
  extra: string[] = [],
  options: { tls?: boolean } = {},
): Promise<RedisServer> {
  const dir = await Deno.makeTempDir({ prefix: "aio-redis-" });
  const port = freePort();
  let tlsPort: number | undefined;
  if (options.tls) {
    tlsPort = freePort();
    const fixtures = new URL("./fixtures/tls/", import.meta.url);
    const cert = new URL("localhost.crt", fixtures).pathname;
    extra = [
      ...extra,
      "--tls-port",
      String(tlsPort),
      "--tls-cert-file",
      cert,
      "--tls-key-file",
      new URL("localhost.key", fixtures).pathname,
      "--tls-ca-cert-file",
      cert,
      "--tls-auth-clients",
      "no",
    ];
  }
  let running: Running | undefined;
  try {
    running = await launch(port, dir, extra);
  } catch (e) {
    await Deno.remove(dir, { recursive: true });
    throw e;
  }
  const end = async (signal: Deno.Signal) => {
    const current = running;
    running = undefined;
    if (current === undefined) return;
    try {
      current.child.kill(signal);
    } catch {
      // Already gone.
    }
    await current.child.status;
    await current.drained;
  };
  const server: RedisServer = {
    port,
    tlsPort,
    kill: () => end("SIGKILL"),
    async restart() {
      await end("SIGKILL");
      running = await launch(port, dir, extra);
    },
    async stop() {
      await end("SIGTERM");
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
    stopNow() {
      try {
        running?.child.kill("SIGTERM");
      } catch {
        // Already gone.
      }
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch {
        // Removed already.
      }
    },
    [Symbol.asyncDispose]: () => server.stop(),
  };
  return server;
}
