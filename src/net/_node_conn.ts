/**
 * The `node:net` fallback transport: a Node socket shaped like a Deno conn,
 * for connecting from a `localAddress`, which `Deno.connect` cannot bind.
 * Internal.
 *
 * @module
 */

import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect, rootCertificates } from "node:tls";
import { abortReason } from "../core/cancellation.ts";
import type { StartTlsOptions } from "../streams/stream_writer.ts";
import { setTlsUpgrade } from "../streams/_tls_upgrade.ts";

const NODE_READ_HIGH = 64 * 1024;

/** Node's error codes as Deno's error classes, so both paths fail alike. */
function denoError(e: unknown): unknown {
  const code = (e as { code?: unknown } | null)?.code;
  const message = e instanceof Error ? e.message : String(e);
  const classes: Record<string, new (message: string, options?: ErrorOptions) => Error> = {
    ECONNREFUSED: Deno.errors.ConnectionRefused,
    ECONNRESET: Deno.errors.ConnectionReset,
    ECONNABORTED: Deno.errors.ConnectionAborted,
    EPIPE: Deno.errors.BrokenPipe,
    ETIMEDOUT: Deno.errors.TimedOut,
    EADDRINUSE: Deno.errors.AddrInUse,
    EADDRNOTAVAIL: Deno.errors.AddrNotAvailable,
    EINVAL: Deno.errors.AddrNotAvailable,
    ENOTCONN: Deno.errors.NotConnected,
  };
  const Class = typeof code === "string" ? classes[code] : undefined;
  return Class ? new Class(message, { cause: e }) : e;
}

/** What a Node socket waits for before it is usable. */
type ReadyEvent = "connect" | "secureConnect";

/**
 * A Node socket shaped like a Deno conn (`read`, `write`, `closeWrite`,
 * `close`, addresses), for connecting from a `localAddress`, which
 * `Deno.connect` cannot bind.
 */
export class NodeConn {
  readonly #socket: Socket;
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #ended = false;
  #error: unknown = undefined;
  #closed = false;
  #waiter: (() => void) | null = null;
  readonly #onData = (chunk: Uint8Array) => {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    if (this.#buffered >= NODE_READ_HIGH) this.#socket.pause();
    this.#wake();
  };
  readonly #onEnd = () => {
    this.#ended = true;
    this.#wake();
  };
  readonly #onError = (e: unknown) => {
    this.#error ??= denoError(e);
    this.#wake();
  };

  constructor(socket: Socket) {
    this.#socket = socket;
    setTlsUpgrade(
      this,
      (options, signal) => this.#startTls(options, signal) as unknown as Promise<Deno.TlsConn>,
    );
    socket.on("data", this.#onData);
    socket.on("end", this.#onEnd);
    socket.on("close", this.#onEnd);
    socket.on("error", this.#onError);
  }

  /**
   * Resolves once the socket emits `event`; rejects (closing the socket) if
   * it fails, closes, or `signal` aborts first: no outcome is left waiting.
   */
  ready(event: ReadyEvent, signal: AbortSignal | undefined): Promise<this> {
    const socket = this.#socket;
    return new Promise((resolve, reject) => {
      const settle = (error?: unknown) => {
        signal?.removeEventListener("abort", onAbort);
        socket.off(event, onReady);
        socket.off("error", onFailure);
        socket.off("close", onClose);
        if (error === undefined) return resolve(this);
        if (!this.#closed) this.close();
        reject(error);
      };
      const onReady = () => settle();
      const onFailure = (e: unknown) => settle(denoError(e));
      const onClose = () =>
        settle(
          this.#error ??
            new Deno.errors.ConnectionReset("The connection closed while it was opening"),
        );
      const onAbort = () => settle(abortReason(signal!));
      if (signal?.aborted) return onAbort();
      signal?.addEventListener("abort", onAbort, { once: true });
      socket.once(event, onReady);
      socket.once("error", onFailure);
      socket.once("close", onClose);
    });
  }

  #wake(): void {
    const waiter = this.#waiter;
    this.#waiter = null;
    waiter?.();
  }

  get localAddr(): Deno.NetAddr {
    const s = this.#socket;
    return { transport: "tcp", hostname: s.localAddress ?? "", port: s.localPort ?? 0 };
  }

  get remoteAddr(): Deno.NetAddr {
    const s = this.#socket;
    return { transport: "tcp", hostname: s.remoteAddress ?? "", port: s.remotePort ?? 0 };
  }

  async read(p: Uint8Array): Promise<number | null> {
    for (;;) {
      if (this.#closed) throw new Deno.errors.BadResource("The connection is closed");
      const chunk = this.#chunks[0];
      if (chunk !== undefined) {
        const n = Math.min(p.length, chunk.length);
        p.set(chunk.subarray(0, n));
        if (n === chunk.length) this.#chunks.shift();
        else this.#chunks[0] = chunk.subarray(n);
        this.#buffered -= n;
        if (this.#buffered < NODE_READ_HIGH && this.#socket.isPaused()) this.#socket.resume();
        return n;
      }
      if (this.#error !== undefined) throw this.#error;
      if (this.#ended) return null;
      await new Promise<void>((resolve) => this.#waiter = resolve);
    }
  }

  write(p: Uint8Array): Promise<number> {
    return new Promise((resolve, reject) => {
      if (this.#closed) reject(new Deno.errors.BadResource("The connection is closed"));
      else if (this.#error !== undefined) reject(this.#error);
      else this.#socket.write(p, (e) => e ? reject(denoError(e)) : resolve(p.length));
    });
  }

  closeWrite(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.#closed) reject(new Deno.errors.BadResource("The connection is closed"));
      else this.#socket.end(() => resolve());
    });
  }

  close(): void {
    if (this.#closed) throw new Deno.errors.BadResource("The connection is already closed");
    this.#closed = true;
    this.#socket.destroy();
    this.#wake();
  }

  setNoDelay(noDelay = true): void {
    this.#socket.setNoDelay(noDelay);
  }

  /**
   * Upgrades to TLS over the same socket (what `Deno.startTls` does for Deno
   * conns). The plain socket stops being read first, so that no byte of the
   * handshake reaches it instead of the TLS layer.
   */
  #startTls(options: StartTlsOptions, signal?: AbortSignal): Promise<NodeTlsConn> {
    if (this.#chunks.length > 0) {
      return Promise.reject(
        new Deno.errors.InvalidData("Cannot start TLS: unread data arrived before the handshake"),
      );
    }
    const socket = this.#socket;
    socket.pause();
    socket.off("data", this.#onData);
    socket.off("end", this.#onEnd);
    socket.off("close", this.#onEnd);
    socket.off("error", this.#onError);
    const hostname = options.hostname ?? this.remoteAddr.hostname;
    const secure = new NodeTlsConn(tlsConnect({ socket, ...tlsSettings(hostname, options) }));
    return secure.ready("secureConnect", signal);
  }
}

/** A {@linkcode NodeConn} over TLS: has `handshake()`, like `Deno.TlsConn`. */
class NodeTlsConn extends NodeConn {
  readonly #alpn: () => string | false | null;

  constructor(socket: Socket & { alpnProtocol?: string | false | null }) {
    super(socket);
    this.#alpn = () => socket.alpnProtocol ?? null;
  }

  handshake(): Promise<Deno.TlsHandshakeInfo> {
    return Promise.resolve({ alpnProtocol: this.#alpn() || null });
  }
}

/** Node's TLS options for a server name and {@linkcode StartTlsOptions}. */
function tlsSettings(hostname: string, options: StartTlsOptions) {
  return {
    host: hostname,
    // SNI takes host names only.
    servername: /^[\d.]+$|:/.test(hostname) ? undefined : hostname,
    ca: options.caCerts ? [...rootCertificates, ...options.caCerts] : undefined,
    ALPNProtocols: options.alpnProtocols,
  };
}

/**
 * Connects from `localAddress` with Node's sockets; over TLS the handshake
 * runs on the fresh socket (no plain socket is upgraded).
 */
export function connectFrom(
  host: string,
  port: number,
  options: {
    localAddress: string;
    noDelay: boolean;
    happyEyeballsDelay: number | undefined;
    tls: StartTlsOptions | undefined;
  },
  signal: AbortSignal,
): Promise<NodeConn> {
  const { happyEyeballsDelay: delay, tls } = options;
  const settings = {
    host,
    port,
    localAddress: options.localAddress,
    allowHalfOpen: true,
    noDelay: options.noDelay,
    autoSelectFamily: true,
    ...(delay === undefined
      ? {}
      : { autoSelectFamilyAttemptTimeout: Math.max(10, Math.ceil(delay)) }),
  };
  if (tls === undefined) return new NodeConn(netConnect(settings)).ready("connect", signal);
  const socket = tlsConnect({ ...settings, ...tlsSettings(tls.hostname ?? host, tls) });
  return new NodeTlsConn(socket).ready("secureConnect", signal);
}
