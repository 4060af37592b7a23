/**
 * Addresses as text, for messages and `getExtraInfo`. Internal.
 *
 * @module
 */

/** `host:port`, with IPv6 addresses in brackets. Internal. */
export function formatAddress(host: string, port: number): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** `host` without the brackets of an IPv6 literal (`[::1]` is `::1`). Internal. */
export function unbracket(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

/** A Deno address as text: `host:port` or the socket path. Internal. */
export function formatAddr(addr: Deno.Addr | undefined): string {
  if (addr === undefined) return "unknown peer";
  if (addr.transport === "tcp" || addr.transport === "udp") {
    return formatAddress(addr.hostname, addr.port);
  }
  if (addr.transport === "unix" || addr.transport === "unixpacket") {
    return addr.path || "unnamed Unix socket";
  }
  return String(addr.transport);
}
