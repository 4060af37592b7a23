/**
 * `NAME.part` and `NAME.part.meta`: where a download is written until it is
 * complete, and what a later run needs to resume it.
 *
 * @module
 */
import { writeAll } from "../_shared/mod.ts";
import { UnsafeFileError } from "./errors.ts";

const encoder = new TextEncoder();

async function removeQuietly(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

/** What `NAME.part.meta` holds: how to validate a resume of `NAME.part`. */
interface PartMeta {
  validator: string;
  total: number | null;
}

/**
 * `NAME.part` and, when it may be resumed by a later run, `NAME.part.meta`
 * (the validator to send in `If-Range`). Neither is ever followed as a
 * link: a new one is created exclusively (`createNew`) after removing what
 * was there; an existing one is reused only when it is a regular file,
 * checked again on the open file.
 */
export class PartFile {
  readonly #final: string;
  readonly #path: string;
  readonly #meta: string;
  #file: Deno.FsFile | undefined;
  /** The bytes in the .part file. */
  size = 0;
  /** The validator of the response those bytes came from, or `null`. */
  validator: string | null = null;

  constructor(final: string) {
    this.#final = final;
    this.#path = `${final}.part`;
    this.#meta = `${final}.part.meta`;
  }

  /** Whether a next request may ask for the rest (`Range` from `size`, `If-Range`). */
  get resumable(): boolean {
    return this.size > 0 && this.validator !== null;
  }

  /** Reads what an earlier run left; anything unusable is removed. */
  async load(): Promise<void> {
    try {
      const info = await Deno.lstat(this.#path);
      const metaInfo = await Deno.lstat(this.#meta);
      if (info.isFile && metaInfo.isFile) {
        const meta = JSON.parse(await Deno.readTextFile(this.#meta)) as Partial<PartMeta>;
        if (typeof meta.validator === "string" && meta.validator !== "") {
          this.size = info.size;
          this.validator = meta.validator;
          return;
        }
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound) && !(e instanceof SyntaxError)) throw e;
    }
    await this.discard();
  }

  /**
   * Opens the .part for writing at `offset`: appending to the regular file
   * already there, or, from 0, a new one made exclusively.
   */
  async open(
    offset: number,
    validator: string | null,
    total: number | null,
    keep: boolean,
  ): Promise<void> {
    this.close();
    if (offset === 0) {
      await this.discard();
      this.#file = await Deno.open(this.#path, { write: true, createNew: true });
      this.validator = validator;
      if (keep && validator !== null) {
        const meta: PartMeta = { validator, total };
        using file = await Deno.open(this.#meta, { write: true, createNew: true });
        await writeAll(file, encoder.encode(JSON.stringify(meta)));
      }
    } else {
      const file = await Deno.open(this.#path, { write: true, append: true });
      // Opening follows a link that may have replaced the file since it was
      // checked: the open file must be the regular file at that name.
      const [opened, named] = await Promise.all([file.stat(), Deno.lstat(this.#path)]);
      if (!named.isFile || opened.ino !== named.ino || opened.dev !== named.dev) {
        file.close();
        throw new UnsafeFileError(`Cannot resume ${this.#path}: it is not a regular file`);
      }
      if (opened.size !== offset) {
        file.close();
        throw new UnsafeFileError(`Cannot resume ${this.#path}: it changed meanwhile`);
      }
      this.#file = file;
    }
    this.size = offset;
  }

  /** Appends bytes. */
  async write(bytes: Uint8Array): Promise<void> {
    await writeAll(this.#file!, bytes);
    this.size += bytes.length;
  }

  /** Renames the .part to the final name, which must be absent or a regular file. */
  async commit(): Promise<void> {
    this.close();
    try {
      const info = await Deno.lstat(this.#final);
      if (!info.isFile) {
        const what = info.isSymlink
          ? "a symbolic link"
          : info.isDirectory
          ? "a directory"
          : "special";
        throw new UnsafeFileError(
          `Cannot save ${this.#final}: it exists and is not a regular file (${what}); not replaced`,
        );
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    await Deno.rename(this.#path, this.#final);
    await removeQuietly(this.#meta);
    this.size = 0;
    this.validator = null;
  }

  /** Removes the .part and its meta file (links themselves, never their targets). */
  async discard(): Promise<void> {
    this.close();
    await removeQuietly(this.#path);
    await removeQuietly(this.#meta);
    this.size = 0;
    this.validator = null;
  }

  /** Closes the open file, if any. */
  close(): void {
    this.#file?.close();
    this.#file = undefined;
  }
}
