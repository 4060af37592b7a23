/**
 * The downloader's file names: a safe name from a URL that never leaves the
 * output directory, and distinct names for downloads that would collide.
 *
 * @module
 */

/** Device names Windows reserves, with any extension (`NUL.txt` is `NUL`); `¹²³` count as digits. */
const WINDOWS_RESERVED =
  /^(con|prn|aux|nul|com[0-9\u00b9\u00b2\u00b3]|lpt[0-9\u00b9\u00b2\u00b3]|conin\$|conout\$) *(\..*)?$/i;
/**
 * Replaced by `_`: control characters (C0 and C1), what Windows forbids,
 * line and paragraph separators, and the bidirectional controls that make
 * a name display as another one.
 */
const UNSAFE = /[\p{Cc}<>:"|?*\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;
const MAX_NAME_BYTES = 200;

const encoder = new TextEncoder();

/**
 * A file name for `url`, safe to join to a directory: the last non-empty
 * segment of the URL path, percent-decoded, with everything up to its last
 * `/` or `\` dropped, control and reserved characters replaced by `_`,
 * leading dots and trailing dots and spaces removed, and at most 200 bytes
 * long. `index.html` for a directory URL, `download` when nothing is left.
 *
 * @param url The URL.
 * @returns A name without path separators that is neither `.` nor `..`.
 */
export function safeFileName(url: URL): string {
  const segments = url.pathname.split("/");
  const last = segments.at(-1) ?? "";
  if (last === "") return "index.html";
  let name: string;
  try {
    name = decodeURIComponent(last);
  } catch {
    name = last;
  }
  name = sanitize(name);
  // A name whose compatibility form (NFKC) is unsafe — `‥` is `..`, `／` is
  // `/` — is made of that form instead, for any tool that normalises it.
  const compatible = name.normalize("NFKC");
  if (compatible !== name && sanitize(compatible) !== compatible) name = sanitize(compatible);
  return name === "" ? "download" : name;
}

/** The rules of {@linkcode safeFileName} on a decoded name; `""` when nothing is left. */
function sanitize(decoded: string): string {
  let name = decoded.slice(Math.max(decoded.lastIndexOf("/"), decoded.lastIndexOf("\\")) + 1);
  name = name.replace(UNSAFE, "_");
  // Trimmed again after the cut, which may end the name with a dot or space;
  // one byte is kept for the `_` a reserved name gets.
  name = trimName(truncateName(trimName(name), MAX_NAME_BYTES - 1));
  return WINDOWS_RESERVED.test(name) ? `_${name}` : name;
}

const TRIMMED = /[.\s]/;

/** Without leading dots and spaces and trailing ones (a loop: `/[.\s]+$/` is quadratic). */
function trimName(name: string): string {
  let start = 0;
  let end = name.length;
  while (start < end && TRIMMED.test(name[start])) start++;
  while (end > start && TRIMMED.test(name[end - 1])) end--;
  return name.slice(start, end);
}

/** At most `max` bytes of UTF-8, keeping a short extension; whole code points only. */
function truncateName(name: string, max: number): string {
  if (encoder.encode(name).length <= max) return name;
  const dot = name.lastIndexOf(".");
  const ext = dot > 0 && name.length - dot <= 16 ? name.slice(dot) : "";
  let room = max - encoder.encode(ext).length;
  let stem = "";
  for (const c of name.slice(0, name.length - ext.length)) {
    const size = encoder.encode(c).length;
    if (size > room) break;
    room -= size;
    stem += c;
  }
  return stem + ext;
}

/**
 * The file a name stands for where names are compared without case and
 * without Unicode normalisation (macOS, Windows): `Café`, `cafe\u0301` and
 * `CAFÉ` are one file. Lower, upper, then lower case again folds `ẞ`, `ß`
 * and `SS` together, and `ς` with `σ`.
 */
function fileKey(name: string): string {
  return name.normalize("NFC").toLowerCase().toUpperCase().toLowerCase().normalize("NFC");
}

/**
 * Hands out distinct file names: a name already given (compared without
 * case or Unicode normalisation, as on macOS and Windows), or one that
 * would collide with another download's `.part` or `.part.meta` file, becomes
 * `stem-1.ext`, `stem-2.ext`, ...
 */
export class NameRegistry {
  #taken = new Set<string>();

  /**
   * Reserves a distinct name based on `name`.
   *
   * @param name The wanted name.
   * @returns `name`, or a numbered variant of it.
   */
  reserve(name: string): string {
    const dot = name.lastIndexOf(".");
    const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ""];
    for (let n = 0;; n++) {
      const candidate = n === 0 ? name : `${stem}-${n}${ext}`;
      const key = fileKey(candidate);
      const own = [key, `${key}.part`, `${key}.part.meta`];
      if (own.every((k) => !this.#taken.has(k))) {
        for (const k of own) this.#taken.add(k);
        return candidate;
      }
    }
  }
}
