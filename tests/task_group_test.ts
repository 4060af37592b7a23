import {
  assert,
  assertEquals,
  assertFalse,
  assertInstanceOf,
  assertRejects,
  assertThrows,
} from "@std/assert";
import {
  CancelledError,
  createTask,
  InvalidStateError,
  sleep,
  type Task,
  TaskGroup,
  TaskGroupError,
} from "../mod.ts";

Deno.test("the scope ends only after every child ended; the body's result is returned", async () => {
  const ended: number[] = [];
  const result = await TaskGroup.run((tg) => {
    for (const ms of [15, 5, 10]) {
      tg.createTask(async () => {
        await sleep(ms);
        ended.push(ms);
      });
    }
    return "body result";
  });
  assertEquals(result, "body result");
  assertEquals(ended.sort(), [10, 15, 5]);
});

Deno.test("the first failing child cancels siblings and the body; AggregateError of real failures", async () => {
  const log: string[] = [];
  const error = await TaskGroup.run(async (tg) => {
    tg.createTask(async () => {
      try {
        await sleep(60_000);
      } catch (e) {
        log.push(`sibling ${(e as Error).name}`);
        throw e;
      }
    });
    tg.createTask(async () => {
      await sleep(5);
      throw new RangeError("child failed");
    });
    try {
      await sleep(60_000);
    } catch (e) {
      log.push(`body ${(e as Error).name}`);
      throw e;
    }
  }).catch((e) => e);
  assertInstanceOf(error, TaskGroupError);
  assertInstanceOf(error, AggregateError);
  assertEquals(error.errors.length, 1);
  assertInstanceOf(error.errors[0], RangeError);
  assertEquals(log.sort(), ["body CancelledError", "sibling CancelledError"]);
});

Deno.test("two children failing at once: both errors are reported", async () => {
  // One plain promise wakes both children in the same turn.
  const gate = new Promise((r) => setTimeout(r, 5));
  const error = await TaskGroup.run((tg) => {
    tg.createTask(async () => {
      await gate;
      throw new Error("one");
    });
    tg.createTask(async () => {
      await gate;
      throw new Error("two");
    });
  }).catch((e) => e);
  assertInstanceOf(error, TaskGroupError);
  assertEquals(error.errors.map((e: Error) => e.message).sort(), ["one", "two"]);
  assertEquals(error.message.startsWith("2 unhandled errors in a TaskGroup"), true);
});

Deno.test("a body that throws while children run: children cancelled, body error in the aggregate", async () => {
  let child: Task<unknown> | undefined;
  const error = await TaskGroup.run((tg) => {
    child = tg.createTask(() => sleep(60_000));
    throw new TypeError("body failed");
  }).catch((e) => e);
  assertInstanceOf(error, TaskGroupError);
  assertEquals(error.errors.length, 1);
  assertInstanceOf(error.errors[0], TypeError);
  assert(child!.cancelled());
});

Deno.test("a child that ignores cancellation for a while delays the end of the scope", async () => {
  const log: string[] = [];
  const error = await TaskGroup.run((tg) => {
    tg.createTask(async () => {
      try {
        await sleep(60_000);
      } catch {
        // Ignore the cancellation for a while, with a wait aio cannot cancel.
        await new Promise((r) => setTimeout(r, 30));
        log.push("stubborn child finished");
      }
    });
    tg.createTask(async () => {
      await sleep(1);
      throw new Error("trigger");
    });
  }).catch((e) => e);
  log.push("group ended");
  assertInstanceOf(error, TaskGroupError);
  assertEquals(log, ["stubborn child finished", "group ended"]);
});

Deno.test("a cancelled enclosing task cancels the group and surfaces as CancelledError", async () => {
  let child: Task<unknown> | undefined;
  const outer = createTask(() =>
    TaskGroup.run(async (tg) => {
      child = tg.createTask(() => sleep(60_000));
      await sleep(60_000);
    })
  );
  await sleep(5);
  outer.cancel("stop everything");
  const error = await outer.then(() => null, (e) => e);
  assertInstanceOf(error, CancelledError);
  assertFalse(error instanceof AggregateError);
  assertEquals(error.message, "stop everything");
  assert(outer.cancelled());
  assert(child!.cancelled());
});

Deno.test("an outer signal cancels the group like an enclosing task", async () => {
  const controller = new AbortController();
  const p = TaskGroup.run((tg) => {
    tg.createTask(() => sleep(60_000));
  }, { signal: controller.signal });
  setTimeout(() => controller.abort(new CancelledError("signal")), 5);
  await assertRejects(() => p, CancelledError, "signal");
});

Deno.test("errors thrown while cancelling are not lost", async () => {
  const outer = createTask(() =>
    TaskGroup.run((tg) => {
      tg.createTask(async () => {
        try {
          await sleep(60_000);
        } catch {
          throw new Error("cleanup failed");
        }
      });
    })
  );
  await sleep(5);
  outer.cancel();
  const error = await outer.then(() => null, (e) => e);
  assertInstanceOf(error, TaskGroupError);
  assertEquals(error.errors[0].message, "cleanup failed");
});

Deno.test("nested groups compose: an inner failure propagates through the outer group", async () => {
  let sibling: Task<unknown> | undefined;
  const error = await TaskGroup.run((outer) => {
    sibling = outer.createTask(() => sleep(60_000));
    outer.createTask(() =>
      TaskGroup.run((inner) => {
        inner.createTask(async () => {
          await sleep(2);
          throw new Error("deep");
        });
      })
    );
  }).catch((e) => e);
  assertInstanceOf(error, TaskGroupError);
  assertInstanceOf(error.errors[0], TaskGroupError);
  assertEquals(error.errors[0].errors[0].message, "deep");
  assert(sibling!.cancelled());
});

Deno.test("createTask after the group finished, or while it shuts down, throws", async () => {
  let saved: TaskGroup | undefined;
  await TaskGroup.run((tg) => {
    saved = tg;
  });
  assertThrows(() => saved!.createTask(() => 1), InvalidStateError, "has finished");
  await TaskGroup.run(async (tg) => {
    tg.createTask(() => {
      throw new Error("x");
    });
    try {
      await sleep(60_000);
    } catch {
      assertThrows(() => tg.createTask(() => 1), InvalidStateError, "shutting down");
      throw new CancelledError();
    }
  }).catch((e) => assertInstanceOf(e, TaskGroupError));
});

Deno.test("children may create siblings while the body is already waiting to exit", async () => {
  const seen: string[] = [];
  await TaskGroup.run((tg) => {
    tg.createTask(async () => {
      await sleep(2);
      tg.createTask(async () => {
        await sleep(2);
        seen.push("grandchild");
      });
    });
  });
  assertEquals(seen, ["grandchild"]);
});

Deno.test("cancelled children do not count as failures", async () => {
  const result = await TaskGroup.run(async (tg) => {
    const child = tg.createTask(() => sleep(60_000));
    await sleep(1);
    child.cancel();
    return "fine";
  });
  assertEquals(result, "fine");
});

Deno.test("the group's signal aborts when it starts cancelling", async () => {
  let signal: AbortSignal | undefined;
  await TaskGroup.run((tg) => {
    signal = tg.signal;
    assertFalse(tg.signal.aborted);
    tg.createTask(() => {
      throw new Error("x");
    });
  }).catch(() => {});
  assert(signal!.aborted);
});

Deno.test("10,000 children all run and are awaited", async () => {
  let count = 0;
  await TaskGroup.run((tg) => {
    for (let i = 0; i < 10_000; i++) {
      tg.createTask(async () => {
        await sleep(0);
        count++;
      });
    }
  });
  assertEquals(count, 10_000);
});

Deno.test("10,000 children are all cancelled when one fails", async () => {
  let cancelled = 0;
  const error = await TaskGroup.run((tg) => {
    for (let i = 0; i < 10_000; i++) {
      tg.createTask(async () => {
        try {
          await sleep(60_000);
        } catch (e) {
          if (e instanceof CancelledError) cancelled++;
          throw e;
        }
      });
    }
    tg.createTask(() => {
      throw new Error("one bad apple");
    });
  }).catch((e) => e);
  assertInstanceOf(error, TaskGroupError);
  assertEquals(error.errors.length, 1);
  assertEquals(cancelled, 10_000);
});

Deno.test("TaskGroup.run rejects a non-function body", async () => {
  // @ts-expect-error: testing bad input
  await assertRejects(() => TaskGroup.run(null), TypeError, "'body' must be a function");
});

Deno.test("TaskGroupError lists each distinct error once", async (t) => {
  await t.step("a body failing with a child's error (return Promise.all(tasks))", async () => {
    const boom = new Error("boom");
    const e = await assertRejects(
      () =>
        TaskGroup.run((tg) => {
          const tasks = [
            tg.createTask(async () => {
              await sleep(0);
              throw boom;
            }),
            tg.createTask(() => sleep(60_000)),
          ];
          return Promise.all(tasks);
        }),
      TaskGroupError,
    );
    assertEquals(e.errors, [boom]);
  });
  await t.step("children failing with one shared error, and distinct ones kept", async () => {
    const shared = new Error("shared");
    const other = new Error("other");
    const e = await assertRejects(
      () =>
        TaskGroup.run((tg) => {
          tg.createTask(() => {
            throw shared;
          });
          tg.createTask(() => {
            throw shared;
          });
          tg.createTask(() => {
            throw other;
          });
        }),
      TaskGroupError,
    );
    assertEquals(e.errors, [shared, other]);
    assertEquals(e.message, "2 unhandled errors in a TaskGroup: shared");
  });
});
