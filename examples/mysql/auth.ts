/**
 * Authentication plugins: the answer the client sends to the server's
 * scramble for `mysql_native_password` and MariaDB's `client_ed25519`.
 *
 * @module
 */

import { digest } from "./buffer.ts";
import { ed25519Sign } from "./ed25519.ts";
import { MysqlProtocolError } from "./errors.ts";

const encoder = new TextEncoder();

/** The authentication plugins this client speaks. */
export const AUTH_PLUGINS: readonly string[] = ["mysql_native_password", "client_ed25519"];

const sha1 = (...parts: Uint8Array[]) => digest("SHA-1", ...parts);

/**
 * `mysql_native_password`: SHA1(password) XOR SHA1(scramble + SHA1(SHA1(password))),
 * or nothing for an empty password.
 *
 * @param password The password.
 * @param scramble The server's 20-byte scramble.
 * @returns The 20-byte answer.
 *
 * @example
 * ```ts
 * import { nativePassword } from "./auth.ts";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals((await nativePassword("secret", new Uint8Array(20))).length, 20);
 * assertEquals((await nativePassword("", new Uint8Array(20))).length, 0);
 * ```
 */
export async function nativePassword(password: string, scramble: Uint8Array): Promise<Uint8Array> {
  if (password === "") return new Uint8Array();
  const stage1 = await sha1(encoder.encode(password));
  const stage2 = await sha1(stage1);
  const mask = await sha1(scramble.subarray(0, 20), stage2);
  for (let i = 0; i < 20; i++) mask[i] ^= stage1[i];
  return mask;
}

/**
 * The answer of `plugin` to `scramble`.
 *
 * @param plugin The plugin the server asked for.
 * @param password The password.
 * @param scramble The server's scramble for that plugin.
 * @returns The bytes to send.
 * @throws {MysqlProtocolError} If the plugin is not one this client speaks.
 *
 * @example
 * ```ts
 * import { authResponse } from "./auth.ts";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals((await authResponse("client_ed25519", "pw", new Uint8Array(32))).length, 64);
 * ```
 */
export async function authResponse(
  plugin: string,
  password: string,
  scramble: Uint8Array,
): Promise<Uint8Array> {
  switch (plugin) {
    case "mysql_native_password":
      return await nativePassword(password, scramble);
    case "client_ed25519":
      return (await ed25519Sign(encoder.encode(password), scramble.subarray(0, 32))).signature;
    default:
      throw new MysqlProtocolError(
        `Cannot authenticate: the plugin must be one of ${AUTH_PLUGINS.join(", ")}: ` +
          `current value is ${JSON.stringify(plugin)}`,
      );
  }
}
