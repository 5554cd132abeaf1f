/**
 * Requests a page makes by the dozen (a chart per metric) go a few at a time: the receiver answers the
 * page's other requests and other readers meanwhile.
 */

/** Runs at most `most` of the tasks given at once, the others in order as those end. */
export function limiter(most: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    // A task that ends hands its place to the next waiting one, so none can slip in between.
    if (running < most) running += 1;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running -= 1;
    }
  };
}
