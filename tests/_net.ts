/**
 * Test helpers for sockets: a connected TCP pair, and closing what may be
 * closed already.
 *
 * @module
 */

/** A connected TCP pair over loopback. */
export async function tcpPair(): Promise<{ client: Deno.TcpConn; server: Deno.TcpConn }> {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const [client, server] = await Promise.all([
    Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }),
    listener.accept(),
  ]);
  return { client, server };
}

/** Closes `conn` if there is one, ignoring that it may be closed already. */
export function closeQuietly(conn: { close(): void } | undefined): void {
  try {
    conn?.close();
  } catch {
    // Already closed.
  }
}
