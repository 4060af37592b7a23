/**
 * examples/http_get.ts as a tool: a closed stdout, a URL without a scheme,
 * TLS failures that say what is wrong, and `--count` bodies hashed as they
 * stream instead of held.
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { runDeno, spawnDeno } from "./_run.ts";
import { caAsLeaf } from "./fixtures/tls.ts";
import { requirePython, serve } from "./fixtures/http_servers.ts";

const NET = "--allow-net=127.0.0.1,localhost";
const get = (...args: string[]) => runDeno([NET, "--allow-read", "examples/http_get.ts", ...args]);

/** A body of `size` bytes of `x`, streamed 64 KiB at a time. */
function bigBody(size: number): ReadableStream<Uint8Array> {
  const chunk = new Uint8Array(64 * 1024).fill(120);
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= size) return controller.close();
      const part = chunk.subarray(0, Math.min(chunk.length, size - sent));
      controller.enqueue(part);
      sent += part.length;
    },
  });
}

Deno.test("http_get URL | head: a closed stdout ends the program quietly", async () => {
  await using server = serve(() =>
    new Response(bigBody(64 * 1024 * 1024), {
      headers: { "content-length": String(64 * 1024 * 1024) },
    })
  );
  const child = spawnDeno([NET, "examples/http_get.ts", `http://127.0.0.1:${server.addr.port}/`]);
  // Read a little, then close the pipe, as `head` does.
  const reader = child.stdout.getReader();
  const first = await reader.read();
  assert(!first.done && first.value.length > 0, "some of the body arrived");
  await reader.cancel();
  const [status, stderr] = await Promise.all([child.status, new Response(child.stderr).text()]);
  assertEquals(stderr, "HTTP/1.1 200 OK\n", "no word about the broken pipe");
  assertEquals(status.code, 141, "the status of a program that SIGPIPE ended");
});

Deno.test("a URL without a scheme: http_get suggests http://", async () => {
  for (const url of ["localhost:8000/x", "127.0.0.1:8000/x"]) {
    const { code, stderr } = await get(url);
    assertEquals(code, 2, stderr);
    assertStringIncludes(
      stderr,
      `http_get: "${url}" has no scheme: did you mean "http://${url}"?`,
    );
  }
});

Deno.test("https: to a plain HTTP port, and a CA certificate used as the server's own", async () => {
  // A plain HTTP server answers the TLS hello with a 400, as nginx does.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const loop = (async () => {
    for await (const conn of listener) {
      await conn.write(new TextEncoder().encode("HTTP/1.1 400 Bad Request\r\n\r\n")).catch(
        () => {},
      );
      conn.close();
    }
  })();
  try {
    const plain = await get(`https://127.0.0.1:${listener.addr.port}/`);
    assertEquals(plain.code, 1);
    assertStringIncludes(
      plain.stderr,
      "TLS handshake failed (received corrupt message of type InvalidContentType): " +
        "the server probably does not speak TLS on this port (try http://)",
    );
  } finally {
    listener.close();
    await loop.catch(() => {});
  }

  await using server = serve(() => new Response("secure\n"), caAsLeaf);
  const dir = await Deno.makeTempDir({ prefix: "aio-http-get-test-" });
  try {
    await Deno.writeTextFile(`${dir}/ca.pem`, caAsLeaf.cert);
    const bad = await get("--cacert", `${dir}/ca.pem`, `https://localhost:${server.addr.port}/`);
    assertEquals(bad.code, 1);
    assertStringIncludes(bad.stderr, "CaUsedAsEndEntity");
    assertStringIncludes(
      bad.stderr,
      "the server's certificate is marked as a CA (basicConstraints CA:TRUE, what a plain " +
        "'openssl req -x509' makes)",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--count streams and hashes the bodies: 4 × 96 MiB never held (needs python3)", async () => {
  requirePython("no way to read the peak RSS");
  const size = 96 * 1024 * 1024;
  await using server = serve(() =>
    new Response(bigBody(size), { headers: { "content-length": String(size) } })
  );
  // python3 runs the program and reports its peak resident size (KiB).
  const measure = new Deno.Command("python3", {
    args: [
      "-c",
      "import resource, subprocess, sys\n" +
      "r = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE)\n" +
      "sys.stderr.write(r.stderr.decode())\n" +
      "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n" +
      "print(r.stdout.decode())",
      Deno.execPath(),
      "run",
      "--no-lock",
      NET,
      "examples/http_get.ts",
      "--count",
      "4",
      `http://127.0.0.1:${server.addr.port}/`,
    ],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  });
  const out = await measure.output();
  const text = new TextDecoder().decode(out.stdout);
  const [code, maxRss] = text.split("\n")[0].split(" ").map(Number);
  assertEquals(code, 0, text + new TextDecoder().decode(out.stderr));
  // sha256 of 96 MiB of 'x'.
  const expected = Array.from(
    new Uint8Array(await crypto.subtle.digest("SHA-256", new Uint8Array(size).fill(120))),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("").slice(0, 16);
  assertEquals(text.split(`96 MiB  sha256 ${expected}`).length - 1, 4, text);
  // Holding the bodies would take 384 MiB at least.
  assert(maxRss < 250 * 1024, `peak RSS ${Math.round(maxRss / 1024)} MiB`);
});
