/**
 * Small helpers for tests that wait on real processes and expect failures.
 */

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Calls `find` every `everyMs` until it returns a value (not undefined, null or false); after the timeout, throws `timedOut()`. */
async function poll<T>(find: () => Promise<T | undefined | null | false>, timeoutMs: number, everyMs: number, timedOut: () => Error): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await find();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw timedOut();
    await sleep(everyMs);
  }
}

/** Polls `condition` every 20 ms; throws naming `what` when it is still false after the timeout. */
export async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  await poll(async () => await condition(), timeoutMs, 20, () => new Error(`timed out waiting until ${what}`));
}

/** Polls `find` until it returns a value (not undefined, null or false); throws naming `what` when none came in time. */
export async function found<T>(find: () => Promise<T | undefined | null | false>, what: string, options: { timeoutMs?: number; everyMs?: number } = {}): Promise<T> {
  const { timeoutMs = 30_000, everyMs = 20 } = options;
  return poll(find, timeoutMs, everyMs, () => new Error(`not found within ${timeoutMs / 1000} s: ${what}`));
}

/** Polls `check` every 100 ms until it stops throwing; after the timeout its last error is rethrown (an assertion that holds eventually). */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(100);
    }
  }
}

/** The error `promise` rejects with; throws when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}
