/**
 * Test helper: a loopback TCP proxy that injects faults, each direction on
 * its own, at chosen byte offsets.
 *
 * ```ts ignore
 * await using proxy = await startFaultProxy({
 *   target: { port: server.addr.port },
 *   downstream: { fragment: 1, stallAt: 100 },   // server -> client
 *   upstream: { resetAt: 10, reset: "rst" },      // client -> server
 * });
 * const conn = await openConnection("127.0.0.1", proxy.port);
 * ```
 *
 * Directions: `upstream` is what the client sends to the target,
 * `downstream` what the target sends back. Offsets count the bytes of one
 * direction from the start of the connection. Faults, all optional:
 *
 * - `delay`: waits this many milliseconds before forwarding each piece.
 * - `fragment`: forwards in pieces of at most this many bytes, each one
 *   written (and flushed to the kernel) on its own, with TCP_NODELAY.
 * - `stallAt`: once this many bytes went through, stops reading and
 *   forwarding (so the sender's kernel buffers fill up and its writes back
 *   up) until {@linkcode ProxiedConnection.resume}.
 * - `halfCloseAt`: once this many bytes went through, half-closes the
 *   direction (FIN to the receiver); later bytes of it are read and dropped,
 *   the other direction carries on.
 * - `resetAt`: once this many bytes went through, ends the connection, both
 *   sides at once, as `reset` says: `"rst"` (default) sends a TCP RST to both
 *   peers (`SO_LINGER` 0) without reading what is pending; `"close"` closes
 *   both sockets (FIN) without reading what is pending.
 *
 * A direction without faults is copied as it comes; the end of a direction
 * (FIN) is passed on once its bytes are, so half-closes go through. When a
 * peer resets or the proxy is closed, both sockets are destroyed.
 *
 * Resources: every socket and the listener are closed by
 * {@linkcode FaultProxy.close} (or `await using`), which waits for them, so
 * Deno's sanitizers stay quiet.
 *
 * @module
 */

import net from "node:net";

/** Which way bytes flow: client to target, or target to client. */
export type Direction = "upstream" | "downstream";

/** The faults of one direction; offsets count that direction's bytes. */
export interface FaultPlan {
  /** Milliseconds to wait before forwarding each piece. */
  delay?: number;
  /** The largest piece forwarded in one write. */
  fragment?: number;
  /** Stop reading and forwarding after this many bytes, until `resume()`. */
  stallAt?: number;
  /** Half-close the direction (FIN) after this many bytes; drop the rest. */
  halfCloseAt?: number;
  /** End the connection after this many bytes of this direction. */
  resetAt?: number;
  /** How `resetAt` ends it: a TCP RST (default) or a plain close (FIN). */
  reset?: "rst" | "close";
}

/** Faults for both directions of one connection. */
export interface ConnectionPlan {
  /** Client to target. */
  upstream?: FaultPlan;
  /** Target to client. */
  downstream?: FaultPlan;
}

/** Options for {@linkcode startFaultProxy}. */
export interface FaultProxyOptions extends ConnectionPlan {
  /** Where to forward: a server on this machine. */
  target: { hostname?: string; port: number };
  /**
   * Faults per connection, by the order it was accepted in (0 first);
   * overrides `upstream` and `downstream` when given.
   */
  plan?: (index: number) => ConnectionPlan;
}

/** What one direction of a proxied connection did. */
export interface DirectionState {
  /** Bytes forwarded so far. */
  forwarded: number;
  /** Whether it is stalled now. */
  stalled: boolean;
  /** Whether its end (FIN) was passed on, or it was half-closed by a fault. */
  ended: boolean;
}

/** One client connection through the proxy. */
export interface ProxiedConnection {
  /** Its index, in accept order. */
  readonly index: number;
  /** Per-direction progress. */
  readonly state: Readonly<Record<Direction, Readonly<DirectionState>>>;
  /** What happened, in order: "stall downstream at 100", "rst at upstream 10", ... */
  readonly events: readonly string[];
  /** Resumes a stalled direction (both when none is given); a later `stallAt` is void. */
  resume(direction?: Direction): void;
  /** Resolves once `direction` forwarded at least `bytes` bytes, or stalled, or ended. */
  reached(direction: Direction, bytes: number): Promise<void>;
  /** Resolves once both sockets are closed. */
  readonly closed: Promise<void>;
}

/** A running proxy. */
export interface FaultProxy extends AsyncDisposable {
  /** The loopback address it listens on. */
  readonly hostname: "127.0.0.1";
  /** Its port. */
  readonly port: number;
  /** The connections accepted so far. */
  readonly connections: readonly ProxiedConnection[];
  /** Resolves with the connection of that index once it is accepted. */
  connection(index: number): Promise<ProxiedConnection>;
  /** Stops listening, destroys every connection and waits until all are closed. */
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function closedPromise(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed && socket.closed) resolve();
    else socket.once("close", () => resolve());
  });
}

class Connection implements ProxiedConnection {
  readonly index: number;
  readonly state: Record<Direction, DirectionState> = {
    upstream: { forwarded: 0, stalled: false, ended: false },
    downstream: { forwarded: 0, stalled: false, ended: false },
  };
  readonly events: string[] = [];
  readonly closed: Promise<void>;
  readonly #client: net.Socket;
  readonly #server: net.Socket;
  readonly #plans: Record<Direction, FaultPlan>;
  readonly #resumers: Record<Direction, (() => void) | undefined> = {
    upstream: undefined,
    downstream: undefined,
  };
  readonly #resumed: Record<Direction, boolean> = { upstream: false, downstream: false };
  readonly #watchers = new Set<() => void>();
  #dead = false;

  constructor(index: number, client: net.Socket, server: net.Socket, plan: ConnectionPlan) {
    this.index = index;
    this.#client = client;
    this.#server = server;
    this.#plans = { upstream: plan.upstream ?? {}, downstream: plan.downstream ?? {} };
    this.closed = Promise.all([closedPromise(client), closedPromise(server)]).then(() => {});
    for (const socket of [client, server]) {
      socket.setNoDelay(true);
      socket.on("error", (e: Error) => {
        this.events.push(
          `error on the ${socket === client ? "client" : "target"} side: ${e.message}`,
        );
        this.#kill(false);
      });
    }
    this.#pump("upstream", client, server);
    this.#pump("downstream", server, client);
  }

  resume(direction?: Direction): void {
    for (const d of direction ? [direction] : ["upstream", "downstream"] as Direction[]) {
      this.#resumed[d] = true;
      const wake = this.#resumers[d];
      this.#resumers[d] = undefined;
      wake?.();
    }
  }

  reached(direction: Direction, bytes: number): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        const s = this.state[direction];
        if (s.forwarded >= bytes || s.stalled || s.ended || this.#dead) {
          this.#watchers.delete(check);
          resolve();
          return true;
        }
        return false;
      };
      if (!check()) this.#watchers.add(check);
    });
  }

  #notify(): void {
    for (const check of [...this.#watchers]) check();
  }

  /** Destroys both sockets; with `rst`, each peer gets a TCP RST. */
  #kill(rst: boolean): void {
    if (this.#dead) return;
    this.#dead = true;
    for (const socket of [this.#client, this.#server]) {
      if (rst && typeof socket.resetAndDestroy === "function" && !socket.destroyed) {
        socket.resetAndDestroy();
      } else {
        socket.destroy();
      }
    }
    this.resume();
    this.#notify();
  }

  destroy(): void {
    this.#kill(false);
  }

  #pump(direction: Direction, from: net.Socket, to: net.Socket): void {
    const plan = this.#plans[direction];
    const state = this.state[direction];
    const queue: Uint8Array[] = [];
    let ended = false;
    let wake: (() => void) | undefined;
    const poke = () => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    from.on("data", (chunk: Uint8Array) => {
      queue.push(chunk);
      // Backpressure: one chunk at a time in flight through the proxy.
      from.pause();
      poke();
    });
    from.on("end", () => {
      ended = true;
      poke();
    });
    from.on("close", () => {
      ended = true;
      poke();
    });
    const write = (piece: Uint8Array) =>
      new Promise<void>((resolve) => {
        if (to.destroyed || to.writableEnded) return resolve();
        to.write(piece, () => resolve());
      });
    /** The next offset where a fault applies, after `at`. */
    const nextFault = (at: number): number => {
      let next = Infinity;
      for (const offset of [plan.stallAt, plan.halfCloseAt, plan.resetAt]) {
        if (offset !== undefined && offset > at && offset < next) next = offset;
      }
      return next;
    };
    /** Applies the faults due at the current offset; false once the direction is done. */
    const faults = async (): Promise<boolean> => {
      const at = state.forwarded;
      if (plan.resetAt === at) {
        const how = plan.reset ?? "rst";
        this.events.push(`${how} at ${direction} ${at}`);
        this.#kill(how === "rst");
        return false;
      }
      if (plan.halfCloseAt === at && !state.ended) {
        this.events.push(`half-close ${direction} at ${at}`);
        state.ended = true;
        to.end();
        this.#notify();
      }
      if (plan.stallAt === at && !this.#resumed[direction]) {
        this.events.push(`stall ${direction} at ${at}`);
        state.stalled = true;
        this.#notify();
        await new Promise<void>((resolve) => this.#resumers[direction] = resolve);
        state.stalled = false;
        if (this.#dead) return false;
        this.events.push(`resume ${direction} at ${at}`);
      }
      return true;
    };
    const run = async () => {
      if (!await faults()) return;
      for (;;) {
        if (this.#dead) return;
        const chunk = queue.shift();
        if (chunk === undefined) {
          if (ended) break;
          from.resume();
          await new Promise<void>((resolve) => wake = resolve);
          continue;
        }
        let rest = chunk;
        while (rest.length > 0) {
          const limit = nextFault(state.forwarded) - state.forwarded;
          const size = Math.min(rest.length, limit, plan.fragment ?? Infinity);
          const piece = rest.subarray(0, size);
          rest = rest.subarray(size);
          if (plan.delay) await sleep(plan.delay);
          if (this.#dead) return;
          // After a half-close by fault, the bytes are read and dropped.
          if (!state.ended) await write(piece);
          state.forwarded += size;
          this.#notify();
          if (!await faults()) return;
        }
      }
      if (!state.ended) {
        state.ended = true;
        this.events.push(`end ${direction} at ${state.forwarded}`);
        to.end();
        this.#notify();
      }
      // Both directions over: nothing more can flow.
      if (this.state.upstream.ended && this.state.downstream.ended) {
        this.#client.destroySoon?.();
        this.#server.destroySoon?.();
      }
    };
    run().catch((e) => {
      this.events.push(`pump ${direction} failed: ${e}`);
      this.#kill(false);
    });
  }
}

/**
 * Starts a proxy on 127.0.0.1 (port 0) in front of `options.target`.
 *
 * @param options The target and the faults.
 * @returns The running proxy; close it with `await using` or `close()`.
 */
export function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const connections: Connection[] = [];
  const waiting = new Map<number, ((c: ProxiedConnection) => void)[]>();
  const pending = new Set<Promise<void>>();
  let closing = false;
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (client) => {
    if (closing) {
      client.destroy();
      return;
    }
    const index = connections.length;
    const plan = options.plan?.(index) ??
      { upstream: options.upstream, downstream: options.downstream };
    const upstream = net.connect({
      host: options.target.hostname ?? "127.0.0.1",
      port: options.target.port,
      allowHalfOpen: true,
    });
    upstream.pause();
    const conn = new Connection(index, client, upstream, plan);
    connections.push(conn);
    pending.add(conn.closed);
    conn.closed.then(() => pending.delete(conn.closed));
    for (const resolve of waiting.get(index) ?? []) resolve(conn);
    waiting.delete(index);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      const port = (server.address() as net.AddressInfo).port;
      const listenerClosed = new Promise<void>((done) => server.once("close", () => done()));
      const proxy: FaultProxy = {
        hostname: "127.0.0.1",
        port,
        connections,
        connection(index) {
          const c = connections[index];
          if (c) return Promise.resolve(c);
          return new Promise((done) => {
            const list = waiting.get(index) ?? [];
            list.push(done);
            waiting.set(index, list);
          });
        },
        async close() {
          if (!closing) {
            closing = true;
            server.close();
            for (const c of connections) c.destroy();
          }
          await listenerClosed;
          await Promise.all([...pending]);
        },
        [Symbol.asyncDispose]() {
          return proxy.close();
        },
      };
      resolve(proxy);
    });
  });
}
