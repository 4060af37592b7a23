/**
 * The TLS upgrade of a connection in place, behind `StreamWriter.startTls`:
 * the writer flushes what was written before in clear, the reader reads
 * through a gate until the handshake is done, then both go on over the TLS
 * conn (`Deno.startTls`, or the upgrade a non-Deno conn registered with
 * {@linkcode setTlsUpgrade}). Internal.
 *
 * @module
 */

import { abortReason, linkedSignal, subscribe } from "../core/cancellation.ts";
import { InvalidStateError } from "../core/errors.ts";
import { checkOptions, checkString, checkStrings } from "../core/_check.ts";
import { replaceReaderSource } from "./_reader_source.ts";
import {
  failUpgrade,
  finishUpgrade,
  flushBeforeUpgrade,
  type StartTlsOptions,
  type StreamWriter,
  upgradeTarget,
} from "./stream_writer.ts";

/** How a connection upgrades itself to TLS. */
type TlsUpgrade = (options: StartTlsOptions, signal?: AbortSignal) => Promise<Deno.TlsConn>;

/** The TLS upgrades of connections that are not Deno conns, by connection. */
const tlsUpgrades = new WeakMap<object, TlsUpgrade>();

/**
 * Lets `conn`, a connection that is not a Deno conn, upgrade itself to TLS:
 * `startTls` then calls `upgrade` instead of `Deno.startTls`. Internal.
 */
export function setTlsUpgrade(conn: object, upgrade: TlsUpgrade): void {
  tlsUpgrades.set(conn, upgrade);
}

/** `StreamWriter.startTls`: upgrades `writer`'s connection, and its reader's, to TLS. */
export async function startTls(
  writer: StreamWriter,
  options: StartTlsOptions | undefined,
): Promise<void> {
  if (options === undefined) options = {};
  checkOptions(options, "start TLS");
  const { hostname, signal } = options;
  if (hostname !== undefined) checkString(hostname, "hostname", "start TLS");
  const caCerts = checkStrings(options.caCerts, "caCerts", "start TLS");
  const alpnProtocols = checkStrings(options.alpnProtocols, "alpnProtocols", "start TLS");
  if (signal?.aborted) throw abortReason(signal);
  const target = upgradeTarget(writer);
  const conn = target.transport as Deno.TcpConn;
  if (typeof (conn as unknown as Deno.TlsConn).handshake === "function") {
    throw new InvalidStateError("Cannot start TLS: the connection already uses TLS");
  }
  if (conn instanceof WritableStream || conn.remoteAddr?.transport !== "tcp") {
    throw new TypeError("Cannot start TLS: the connection is not a TCP connection");
  }
  // What was written before this call goes out in clear, before the
  // handshake; what is written from now on waits for the upgrade.
  await flushBeforeUpgrade(writer, signal);
  // Until the upgrade is done, the reader reads through a gate that waits for it.
  const done: { tls?: Deno.TlsConn } = {};
  let ready!: (conn: Deno.TlsConn) => void;
  let broken!: (error: unknown) => void;
  const upgraded = new Promise<Deno.TlsConn>((resolve, reject) => {
    ready = resolve;
    broken = reject;
  });
  upgraded.catch(() => {});
  const gate = {
    read: (p: Uint8Array) =>
      done.tls !== undefined ? done.tls.read(p) : upgraded.then((c) => c.read(p)),
  };
  const reader = target.reader;
  if (reader !== undefined) {
    try {
      replaceReaderSource(reader, gate);
    } catch (e) {
      finishUpgrade(writer, null);
      throw new InvalidStateError(
        "Cannot start TLS while the reader is reading from the connection",
        { cause: e },
      );
    }
  }
  const linked = linkedSignal(signal);
  let conn2: Deno.TlsConn | undefined;
  const stop = linked
    ? subscribe(linked, () => {
      try {
        conn2?.close();
      } catch {
        // Already closed.
      }
    })
    : undefined;
  try {
    const settings = {
      hostname: hostname ?? target.hostname ?? conn.remoteAddr.hostname,
      caCerts,
      alpnProtocols,
    };
    const own = tlsUpgrades.get(conn);
    conn2 = own ? await own(settings, linked) : await Deno.startTls(conn, settings);
    if (linked?.aborted) {
      conn2.close();
      throw abortReason(linked);
    }
    try {
      await conn2.handshake();
    } catch (e) {
      if (linked?.aborted) throw abortReason(linked);
      throw e;
    }
  } catch (e) {
    stop?.();
    const error = new InvalidStateError(
      "The connection was closed: its TLS upgrade did not complete",
      { cause: e },
    );
    broken(error);
    failUpgrade(writer, conn2 ?? conn, error);
    throw e;
  }
  stop?.();
  const tls = done.tls = conn2;
  ready(tls);
  if (reader !== undefined) {
    try {
      replaceReaderSource(reader, tls);
    } catch {
      // A read is in flight through the gate, which forwards to `tls` from now on.
    }
  }
  finishUpgrade(writer, tls);
}
