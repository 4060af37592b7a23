/**
 * What a `WorkerPool` and its workers say to each other: job and reply
 * messages, the global markers both sides read, and thrown values turned
 * into cloneable data and back. Internal.
 *
 * @module
 */

import {
  BrokenBarrierError,
  CancelledError,
  IncompleteReadError,
  InvalidStateError,
  LimitOverrunError,
  QueueEmpty,
  QueueFull,
  QueueShutDown,
  TimeoutError,
} from "../core/errors.ts";

/** A job sent to a worker. */
export interface JobMessage {
  /** Matches the reply to the job. */
  id: number;
  /** The absolute URL of the module to import. */
  url: string;
  /** The name of the function it exports. */
  name: string;
  /**
   * The source text of the function the caller submitted, when it passed
   * the function itself: the worker runs the export only if its source is
   * the same, so that a function exported under another name is never
   * confused with the one meant.
   */
  source?: string;
  /** The arguments, already unwrapped from their transfer markers. */
  args: unknown[];
  /** The worker's cancel cell: set to 1 when its job is cancelled. */
  cancel: Int32Array;
}

/** A worker's answer: the job's value, or what it threw. */
export type ReplyMessage =
  | { id: number; ok: true; value: unknown }
  | {
    id: number;
    ok: false;
    error: Thrown;
    /** The worker is in an unknown state (an uncaught error): replace it. */
    fatal: boolean;
  };

/** A thrown value in cloneable form. */
export type Thrown =
  | { kind: "error"; error: SerializedError }
  | { kind: "value"; value: unknown };

/** An `Error` in cloneable form, keeping what structured clone drops. */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  /** Made with `new DOMException(message, name)`. */
  dom?: boolean;
  cause?: Thrown;
  /** An `AggregateError`'s errors. */
  errors?: Thrown[];
  /** Own enumerable properties that could be cloned (`code`, `partial`...). */
  props?: Record<string, unknown>;
}

/**
 * The brand of a transfer marker. `Symbol.for`, so that a marker made by
 * any copy of the module (the caller's, or one loaded inside a worker) is
 * recognised.
 */
export const TRANSFER: unique symbol = Symbol.for("aio.transfer");

/**
 * Where a worker keeps the cancel cell of the job it runs, for
 * `checkCancelled()`: a global, so that any copy of aio loaded in the worker
 * finds it.
 */
export const CANCEL_CELL: unique symbol = Symbol.for("aio.cancelCell");

/** How Deno words a missing permission, in a worker as in the main thread. */
export const PERMISSION_DENIED: RegExp = /^Requires \S+ access/;

/**
 * Set, to the module's URL, while a worker imports a job module: a module
 * whose top level submits jobs would otherwise start workers that import it
 * again, without end.
 */
export const LOADING: unique symbol = Symbol.for("aio.loadingJobModule");

/** A transfer marker as both sides see it. */
export interface Marker {
  readonly [TRANSFER]: true;
  readonly value: unknown;
  readonly transferables: readonly Transferable[];
}

/** Whether `x` is a transfer marker. */
export function isMarker(x: unknown): x is Marker {
  return typeof x === "object" && x !== null && (x as Partial<Marker>)[TRANSFER] === true;
}

const SKIPPED = new Set(["name", "message", "stack", "cause"]);
const MAX_DEPTH = 8;

/** Turns a thrown value into cloneable data, keeping an error's class name. */
export function serializeThrown(thrown: unknown, depth = 0): Thrown {
  if (!(thrown instanceof Error || thrown instanceof DOMException)) {
    try {
      return { kind: "value", value: structuredClone(thrown) };
    } catch {
      return { kind: "value", value: String(thrown) };
    }
  }
  const error: SerializedError = { name: String(thrown.name), message: String(thrown.message) };
  if (typeof thrown.stack === "string") error.stack = thrown.stack;
  if (thrown instanceof DOMException) error.dom = true;
  if (depth < MAX_DEPTH) {
    if ("cause" in thrown) error.cause = serializeThrown(thrown.cause, depth + 1);
    if (thrown instanceof AggregateError && Array.isArray(thrown.errors)) {
      error.errors = thrown.errors.map((e) => serializeThrown(e, depth + 1));
    }
  }
  for (const key of Object.keys(thrown)) {
    if (SKIPPED.has(key) || (key === "errors" && error.errors)) continue;
    try {
      (error.props ??= {})[key] = structuredClone(
        (thrown as unknown as Record<string, unknown>)[key],
      );
    } catch {
      // Not cloneable (a function, a socket...): left out.
    }
  }
  return { kind: "error", error };
}

// deno-lint-ignore no-explicit-any
type ErrorClass = new (...args: any[]) => Error;

let errorClasses: Map<string, ErrorClass> | undefined;

/** The error classes a revived error may have: built-in, aio and `Deno.errors` ones. */
function errorClass(name: string): ErrorClass | undefined {
  errorClasses ??= new Map<string, ErrorClass>([
    ...Object.entries(Deno.errors) as [string, ErrorClass][],
    ...[
      Error,
      TypeError,
      RangeError,
      SyntaxError,
      ReferenceError,
      EvalError,
      URIError,
      AggregateError,
      CancelledError,
      TimeoutError,
      InvalidStateError,
      IncompleteReadError,
      LimitOverrunError,
      QueueEmpty,
      QueueFull,
      QueueShutDown,
      BrokenBarrierError,
    ].map((c) => [c.name, c as ErrorClass] as const),
  ]);
  return errorClasses.get(name);
}

/**
 * Rebuilds a thrown value sent by a worker: an error of its class when the
 * class is known here (else an `Error` keeping its `name`), with its message,
 * stack, cause and cloned own properties.
 */
export function reviveThrown(thrown: Thrown): unknown {
  if (thrown.kind === "value") return thrown.value;
  const data = thrown.error;
  const cause = data.cause === undefined ? undefined : { cause: reviveThrown(data.cause) };
  let error: Error;
  if (data.dom) {
    error = new DOMException(data.message, data.name);
    if (cause) define(error, "cause", cause.cause);
  } else {
    const errors = data.errors?.map(reviveThrown);
    const base: ErrorClass = errors ? AggregateError : Error;
    const known = errorClass(data.name);
    const target = known && (known === base || known.prototype instanceof base) ? known : base;
    // A real error of the class, made without running its constructor,
    // whose parameters may differ.
    error = errors
      ? Reflect.construct(AggregateError, [errors, data.message, cause], target)
      : Reflect.construct(Error, [data.message, cause], target);
  }
  if (error.name !== data.name) define(error, "name", data.name);
  if (data.stack !== undefined) define(error, "stack", data.stack);
  for (const [key, value] of Object.entries(data.props ?? {})) {
    try {
      (error as unknown as Record<string, unknown>)[key] = value;
    } catch {
      // A read-only property of the class: keep the class's value.
    }
  }
  return error;
}

function define(target: object, key: string, value: unknown): void {
  try {
    Object.defineProperty(target, key, { value, writable: true, configurable: true });
  } catch {
    // Not redefinable: keep what the constructor made.
  }
}
