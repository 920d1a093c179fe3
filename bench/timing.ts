/** Runs step() after `warmup` calls until `seconds` have passed and at least `minIters` calls; returns seconds per call. */
export function timed(step: () => void, seconds: number, minIters = 3, warmup = 2): number {
  for (let i = 0; i < warmup; i++) step();
  let iters = 0;
  const start = performance.now();
  let elapsed: number;
  do {
    step();
    iters++;
    elapsed = (performance.now() - start) / 1000;
  } while (elapsed < seconds || iters < minIters);
  return elapsed / iters;
}
