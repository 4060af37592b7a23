/**
 * Runs one `deno` subcommand with the JSR standard library available.
 *
 *     deno run -A tools/with_std.ts <subcommand> [args...]
 *
 * When the JSR registry answers, the subcommand runs unchanged. When it does
 * not (an offline machine, a closed network), this script builds — once,
 * cached outside the repository — a local mirror laid out like JSR from the
 * npm package `deno-std` (Deno's std compiled to JavaScript), points
 * `JSR_URL` at it and adds `--no-lock`, so that a lockfile written against the
 * mirror is never produced. The project's own files keep their real `jsr:`
 * imports either way. Building the mirror needs `npm`, `tar` and `python3`.
 *
 * Environment:
 * - `AIO_STD=jsr|mirror|auto` forces a mode (default `auto`).
 * - `AIO_CACHE_DIR` overrides the cache folder (default: the user cache dir).
 * - `JSR_URL`, when already set, is respected as given.
 *
 * This file imports nothing: it must run before std can be resolved.
 *
 * @module
 */

const STD_VERSION = "1.3.0";
/** Bump when the mirror layout below changes, so old caches are rebuilt. */
const RECIPE = 5;
/** How long a failed registry probe is trusted before asking again. */
const PROBE_TTL_MS = 10 * 60 * 1000;
const PROBE_TIMEOUT_MS = 15_000;
/** Subcommands that resolve modules and so accept `--no-lock`. */
const LOCKING = new Set([
  "bench",
  "cache",
  "check",
  "compile",
  "doc",
  "info",
  "install",
  "publish",
  "run",
  "test",
]);

function cacheRoot(): string {
  // An empty variable counts as unset (as the XDG spec says of XDG_CACHE_HOME).
  const env = (name: string) => Deno.env.get(name) || undefined;
  const dir = env("AIO_CACHE_DIR");
  if (dir) return dir;
  const home = env("HOME") ?? env("USERPROFILE") ?? ".";
  const base = env("XDG_CACHE_HOME") ??
    env("LOCALAPPDATA") ??
    (Deno.build.os === "darwin" ? `${home}/Library/Caches` : `${home}/.cache`);
  return `${base}/aio`;
}

function log(message: string): void {
  console.error(`with_std: ${message}`);
}

async function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; timeoutMs?: number } = {},
): Promise<{ ok: boolean; out: string }> {
  const signal = opts.timeoutMs ? AbortSignal.timeout(opts.timeoutMs) : undefined;
  try {
    const res = await new Deno.Command(cmd, {
      args,
      cwd: opts.cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal,
    }).output();
    const dec = new TextDecoder();
    return {
      ok: res.success,
      out: dec.decode(res.stdout) + dec.decode(res.stderr),
    };
  } catch (e) {
    return { ok: false, out: String(e) };
  }
}

/** True when the real registry serves `@std/assert` now. */
async function registryAnswers(cache: string): Promise<boolean> {
  const stamp = `${cache}/jsr-unreachable`;
  try {
    const since = Number(await Deno.readTextFile(stamp));
    if (Date.now() - since < PROBE_TTL_MS) return false;
  } catch { /* no stamp: ask */ }
  const probe = await run(Deno.execPath(), [
    "info",
    "--no-lock",
    "--no-config",
    `jsr:@std/assert@^1`,
  ], { timeoutMs: PROBE_TIMEOUT_MS });
  if (probe.ok) return true;
  await Deno.mkdir(cache, { recursive: true });
  await Deno.writeTextFile(stamp, String(Date.now()));
  return false;
}

// ---------------------------------------------------------------------------
// Mirror construction

/** JSR name of a deno-std folder: `data_structures` → `data-structures`. */
const jsrName = (folder: string) => folder.replaceAll("_", "-");

async function* walk(dir: string, rel = ""): AsyncGenerator<string> {
  for await (const e of Deno.readDir(`${dir}/${rel}`)) {
    const path = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory) yield* walk(dir, path);
    else if (e.isFile) yield path;
  }
}

/** Resolves `spec` relative to `from` (both package-root relative, posix). */
function resolveRelative(from: string, spec: string): string {
  const parts = from.split("/").slice(0, -1);
  for (const seg of spec.split("/")) {
    if (seg === "..") parts.pop();
    else if (seg !== ".") parts.push(seg);
  }
  return parts.join("/");
}

const IMPORT_RE = /((?:from|import)\s*\(?\s*)(["'])(\.\.?\/[^"']+)\2/g;

/** Rewrites imports that leave the file's own std package into `jsr:`. */
function rewriteImports(pkg: string, file: string, code: string): string {
  return code.replace(IMPORT_RE, (all, lead, q, spec: string) => {
    const target = resolveRelative(`${pkg}/${file}`, spec);
    const [top, ...rest] = target.split("/");
    if (top === pkg) return all;
    const sub = rest.join("/").replace(/\.js$/, "");
    const suffix = sub === "mod" ? "" : `/${sub}`;
    return `${lead}${q}jsr:@std/${jsrName(top.replaceAll("-", "_"))}@^${STD_VERSION}${suffix}${q}`;
  });
}

/** Precise signatures where `any` would lose narrowing tests rely on. */
const OVERRIDES: Record<string, string> = {
  assert: "export declare function assert(expr: unknown, msg?: string): asserts expr;",
  assertExists:
    "export declare function assertExists<T>(actual: T, msg?: string): asserts actual is NonNullable<T>;",
  assertInstanceOf:
    "export declare function assertInstanceOf<T extends abstract new (...args: any[]) => any>(actual: unknown, expectedType: T, msg?: string): asserts actual is InstanceType<T>;",
};

/** A loose declaration file for one compiled std module. */
function declarations(code: string): string {
  const out = new Set<string>();
  for (const m of code.matchAll(/^export\s+(\*(?:\s+as\s+\w+)?\s+from\s*["'][^"']+["'])/gm)) {
    out.add(`export ${m[1]};`);
  }
  for (const m of code.matchAll(/^export\s*\{([^}]*)\}\s*(from\s*["'][^"']+["'])?/gm)) {
    if (m[2]) {
      out.add(`export {${m[1]}} ${m[2]};`);
      continue;
    }
    for (const item of m[1].split(",")) {
      const name = item.trim().split(/\s+as\s+/).pop()?.trim();
      if (!name) continue;
      out.add(
        name === "default"
          ? "declare const _default: any;\nexport default _default;"
          : `export declare const ${name}: any;`,
      );
    }
  }
  for (const m of code.matchAll(/^export\s+(?:async\s+)?function\s*\*?\s*([\w$]+)/gm)) {
    out.add(
      OVERRIDES[m[1]] ??
        `export declare function ${m[1]}<A = any, B = any, C = any>(...args: any[]): any;`,
    );
  }
  for (const m of code.matchAll(/^export\s+class\s+([\w$]+)/gm)) {
    // A value and a type of one name: `new C()`, `C.staticCall()`,
    // `x instanceof C` and `let c: C` all type-check.
    out.add(`export declare const ${m[1]}: any;\nexport type ${m[1]}<A = any, B = any> = any;`);
  }
  for (const m of code.matchAll(/^export\s+(?:const|let|var)\s+([\w$]+)/gm)) {
    out.add(`export declare const ${m[1]}: any;`);
  }
  if (/^export\s+default\s/m.test(code)) {
    out.add("declare const _default: any;\nexport default _default;");
  }
  return [
    "// deno-lint-ignore-file",
    "// Loose declarations generated for the offline std mirror.",
    ...out,
    "export {};",
    "",
  ].join("\n");
}

async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0"))
    .join("");
}

/**
 * `@std/cli/unicode-width` reads a width table from `_data.json`, a file the
 * npm package lacks. The mirror derives one from python3's `unicodedata`
 * (the Unicode database Python ships): ranges of code points from U+00A0
 * on that are not one column wide — 0 for combining marks, format
 * characters and Hangul medial and final jamo, 2 for East Asian Wide and
 * Fullwidth — and replaces the module's table lookup with a search of them.
 */
async function widthTable(): Promise<string> {
  const script = `
import json, unicodedata as u
ranges = []
for cp in range(0xa0, 0x110000):
    c = chr(cp)
    cat = u.category(c)
    if (cat in ("Mn", "Me", "Cf") and cp != 0xad) or 0x1160 <= cp <= 0x11ff or 0xd7b0 <= cp <= 0xd7ff or cp == 0x200b:
        w = 0
    elif u.east_asian_width(c) in ("W", "F"):
        w = 2
    else:
        continue
    if ranges and ranges[-1][1] == cp - 1 and ranges[-1][2] == w:
        ranges[-1][1] = cp
    else:
        ranges.append([cp, cp, w])
print(json.dumps({"unicode": u.unidata_version, "ranges": ranges}, separators=(",", ":")))
`;
  const py = await run("python3", ["-c", script], { timeoutMs: 120_000 });
  if (!py.ok) {
    throw new Error(`python3 could not make the width table of @std/cli/unicode-width:\n${py.out}`);
  }
  return py.out.trim();
}

/** The lookup of the mirror's width table: a binary search of sorted `[first, last, width]`. */
const LOOKUP_WIDTH = `function lookupWidth(cp) {
  const ranges = data.ranges;
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const [first, last, width] = ranges[mid];
    if (cp < first) hi = mid - 1;
    else if (cp > last) lo = mid + 1;
    else return width;
  }
  return 1;
}`;

async function buildMirror(dest: string): Promise<void> {
  const work = await Deno.makeTempDir({ prefix: "aio-std-" });
  try {
    log(`building the offline std mirror (deno-std@${STD_VERSION})`);
    const pack = await run("npm", [
      "pack",
      `deno-std@${STD_VERSION}`,
      "--pack-destination",
      work,
      "--silent",
    ], { cwd: work, timeoutMs: 300_000 });
    if (!pack.ok) throw new Error(`npm pack deno-std@${STD_VERSION} failed:\n${pack.out}`);
    const tgz = `${work}/deno-std-${STD_VERSION}.tgz`;
    const untar = await run("tar", ["-xzf", tgz, "-C", work]);
    if (!untar.ok) throw new Error(`tar could not unpack ${tgz}:\n${untar.out}`);

    const src = `${work}/package`;
    const staging = `${dest}.tmp-${crypto.randomUUID()}`;
    const enc = new TextEncoder();
    for await (const pkgEntry of Deno.readDir(src)) {
      if (!pkgEntry.isDirectory) continue;
      const folder = pkgEntry.name;
      const name = jsrName(folder);
      const out = `${staging}/@std/${name}/${STD_VERSION}`;
      const manifest: Record<string, { size: number; checksum: string }> = {};
      const exports: Record<string, string> = {};
      const files: string[] = [];
      for await (const f of walk(`${src}/${folder}`)) {
        if (f.endsWith(".js")) files.push(f);
      }
      for (const file of files.sort()) {
        const base = file.slice(0, -3);
        let code = await Deno.readTextFile(`${src}/${folder}/${file}`);
        if (folder === "cli" && file === "unicode_width.js" && code.includes("./_data.json")) {
          // The npm package ships JavaScript only, without the width table
          // this module imports: the mirror makes one of its own.
          const data = enc.encode(await widthTable());
          await Deno.mkdir(out, { recursive: true });
          await Deno.writeFile(`${out}/_data.json`, data);
          manifest["/_data.json"] = { size: data.length, checksum: `sha256-${await sha256(data)}` };
          code = code.replace(/function lookupWidth\(cp\) \{[\s\S]*?\n\}/, LOOKUP_WIDTH);
        }
        const js = `/* @ts-self-types="./${base.split("/").pop()}.d.ts" */\n` +
          rewriteImports(folder, file, code);
        const dts = declarations(rewriteImports(folder, file, code));
        for (const [path, text] of [[`${base}.js`, js], [`${base}.d.ts`, dts]]) {
          const bytes = enc.encode(text);
          await Deno.mkdir(`${out}/${path.split("/").slice(0, -1).join("/")}`, {
            recursive: true,
          });
          await Deno.writeFile(`${out}/${path}`, bytes);
          manifest[`/${path}`] = {
            size: bytes.length,
            checksum: `sha256-${await sha256(bytes)}`,
          };
        }
        if (base === "mod") exports["."] = "./mod.js";
        exports[`./${base}`] = `./${file}`;
        const hyphen = base.replace(/(?<=[a-z0-9])_(?=[a-z0-9])/g, "-");
        if (hyphen !== base) exports[`./${hyphen}`] ??= `./${file}`;
      }
      await Deno.writeTextFile(
        `${staging}/@std/${name}/meta.json`,
        JSON.stringify({
          scope: "std",
          name,
          latest: STD_VERSION,
          versions: { [STD_VERSION]: {} },
        }),
      );
      await Deno.writeTextFile(
        `${staging}/@std/${name}/${STD_VERSION}_meta.json`,
        JSON.stringify({ manifest, exports }),
      );
    }
    try {
      await Deno.rename(staging, dest);
    } catch (e) {
      // Another run finished first: its mirror is as good as ours.
      await Deno.remove(staging, { recursive: true });
      if (!(await exists(dest))) throw e;
    }
    log(`mirror ready at ${dest}`);
  } finally {
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

async function ensureMirror(cache: string): Promise<string> {
  const dest = `${cache}/std-mirror-${STD_VERSION}-r${RECIPE}`;
  if (!(await exists(`${dest}/@std/assert/meta.json`))) {
    await Deno.mkdir(cache, { recursive: true });
    await buildMirror(dest);
  }
  return dest;
}

function fileUrl(path: string): string {
  const abs = path.startsWith("/") || /^[A-Za-z]:/.test(path) ? path : `${Deno.cwd()}/${path}`;
  const posix = abs.replaceAll("\\", "/");
  return `file://${posix.startsWith("/") ? "" : "/"}${encodeURI(posix)}/`;
}

// ---------------------------------------------------------------------------

async function main(args: string[]): Promise<number> {
  if (args.length === 0) {
    console.error("usage: deno run -A tools/with_std.ts <deno subcommand> [args...]");
    return 2;
  }
  const env: Record<string, string> = {};
  let noLock = false;
  const mode = Deno.env.get("AIO_STD") ?? "auto";
  const preset = Deno.env.get("JSR_URL");
  if (preset) {
    noLock = preset.startsWith("file:");
  } else if (mode !== "jsr") {
    const cache = cacheRoot();
    if (mode === "mirror" || !(await registryAnswers(cache))) {
      env.JSR_URL = fileUrl(await ensureMirror(cache));
      noLock = true;
    }
  }
  const [sub, ...rest] = args;
  const argv = noLock && LOCKING.has(sub) ? [sub, "--no-lock", ...rest] : args;

  const child = new Deno.Command(Deno.execPath(), {
    args: argv,
    env,
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  // Ctrl-C reaches the child through the terminal; let it decide how to end.
  const ignore = () => {};
  if (Deno.build.os !== "windows") Deno.addSignalListener("SIGINT", ignore);
  const status = await child.status;
  if (Deno.build.os !== "windows") Deno.removeSignalListener("SIGINT", ignore);
  return status.signal ? 128 + signalNumber(status.signal) : status.code;
}

function signalNumber(sig: Deno.Signal): number {
  return ({ SIGINT: 2, SIGTERM: 15, SIGKILL: 9, SIGHUP: 1 } as Record<string, number>)[sig] ??
    1;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
