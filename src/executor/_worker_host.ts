/**
 * The program each `WorkerPool` worker runs: it imports the module a job
 * names, calls the export with the job's arguments, awaits the result and
 * posts it back (moving the buffers of a `transfer()` marker). One job at a
 * time; modules stay cached between jobs. An uncaught error or unhandled
 * rejection fails the running job and asks the pool to replace this worker.
 * Internal.
 *
 * @module
 */

import {
  CANCEL_CELL,
  isMarker,
  type JobMessage,
  LOADING,
  PERMISSION_DENIED,
  type ReplyMessage,
  serializeThrown,
} from "./_worker_protocol.ts";

/** The parts of the worker's global scope used here. */
interface WorkerScope {
  postMessage(message: ReplyMessage, options?: { transfer?: Transferable[] }): void;
  addEventListener(type: string, listener: (event: Event) => void): void;
  onmessage: ((event: MessageEvent<JobMessage>) => void) | null;
}

const scope = globalThis as unknown as WorkerScope;
const globals = globalThis as Record<symbol, unknown>;
/** The id of the job running, if any. */
let running: number | undefined;

function fail(id: number, thrown: unknown, fatal: boolean): void {
  scope.postMessage({ id, ok: false, error: serializeThrown(thrown), fatal });
}

function failFatally(thrown: unknown): void {
  const id = running ?? -1;
  running = undefined;
  fail(id, thrown, true);
}

scope.addEventListener("error", (event) => {
  event.preventDefault();
  const e = event as ErrorEvent;
  failFatally(e.error ?? new Error(e.message));
});
scope.addEventListener("unhandledrejection", (event) => {
  event.preventDefault();
  failFatally((event as PromiseRejectionEvent).reason);
});

async function load(url: string): Promise<Record<string, unknown>> {
  globals[LOADING] = url;
  try {
    return await import(url);
  } catch (e) {
    if (e instanceof Error && PERMISSION_DENIED.test(e.message)) {
      throw new Deno.errors.NotCapable(`Cannot import ${url} in a worker: ${e.message}`);
    }
    throw e;
  } finally {
    globals[LOADING] = undefined;
  }
}

async function run({ url, name, source, args }: JobMessage): Promise<unknown> {
  const module = await load(url);
  const fn = module[name];
  const what = `Cannot run '${name}' from ${url}`;
  if (typeof fn !== "function") {
    throw new TypeError(
      name in module
        ? `${what}: the export is a ${typeof fn}, not a function`
        : `${what}: the module has no export named '${name}'`,
    );
  }
  if (source !== undefined && String(fn) !== source) {
    throw new TypeError(
      `${what}: the function submitted is not the one the module exports as '${name}' ` +
        `(submit the name it is exported under)`,
    );
  }
  return await fn(...args);
}

scope.onmessage = async ({ data: job }) => {
  const { id, name } = job;
  running = id;
  globals[CANCEL_CELL] = job.cancel;
  let value: unknown;
  try {
    value = await run(job);
  } catch (e) {
    if (running === id) {
      running = undefined;
      fail(id, e, false);
    }
    return;
  }
  if (running !== id) return; // failed by an uncaught error meanwhile
  running = undefined;
  let transfer: Transferable[] = [];
  if (isMarker(value)) {
    transfer = [...value.transferables];
    value = value.value;
  }
  try {
    scope.postMessage({ id, ok: true, value }, { transfer });
  } catch (e) {
    fail(
      id,
      new DOMException(
        `Cannot send the result of '${name}' back from the worker: ${(e as Error).message}`,
        "DataCloneError",
      ),
      false,
    );
  }
};
