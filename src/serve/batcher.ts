/**
 * Dynamic batching, as TorchServe (batch_size, max_batch_delay) and Triton's
 * dynamic batcher (max_queue_delay) do it: items that arrive together run as one
 * batch. A batch starts when `maxBatch` items wait, or when the oldest has waited
 * `maxWaitMs`; one batch runs at a time (the model has one thread of its own), and
 * whatever queued meanwhile goes next, at once if it already waited long enough.
 *
 * Under load the queue fills while a batch runs, so batches grow by themselves. With
 * `incoming` (items known to be on their way, such as pictures still decoding), a
 * batch also starts at once when none are: waiting for company that is not coming
 * would only add maxWaitMs to a lone request. Without it, a lone item waits maxWaitMs.
 */

export interface BatcherOptions {
  /** items per batch, at most */
  maxBatch: number;
  /** how long the oldest waiting item may wait for others before its batch starts */
  maxWaitMs: number;
  /** told each batch's size as it starts (for metrics) */
  onBatch?: (size: number) => void;
  /** how many items are on their way to submit(); when none are, a batch starts without waiting */
  incoming?: () => number;
}

interface Entry<I, O> {
  item: I;
  at: number;
  resolve: (o: O) => void;
  reject: (e: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

export class DynamicBatcher<I, O> {
  private queue: Entry<I, O>[] = [];
  private running = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly maxBatch: number;
  private readonly maxWaitMs: number;
  private readonly onBatch?: (size: number) => void;
  private readonly incoming?: () => number;

  /** `run` answers a batch with one output per item, in order (or rejects for all of them). */
  constructor(
    private readonly run: (items: I[]) => Promise<O[]>,
    { maxBatch, maxWaitMs, onBatch, incoming }: BatcherOptions,
  ) {
    if (!(Number.isInteger(maxBatch) && maxBatch >= 1)) throw new RangeError(`DynamicBatcher: maxBatch must be a positive integer, got ${maxBatch}`);
    if (!(maxWaitMs >= 0)) throw new RangeError(`DynamicBatcher: maxWaitMs must be >= 0, got ${maxWaitMs}`);
    this.maxBatch = maxBatch;
    this.maxWaitMs = maxWaitMs;
    this.onBatch = onBatch;
    this.incoming = incoming;
  }

  /** Items waiting for a batch. */
  get queued(): number {
    return this.queue.length;
  }

  /** Whether a batch is running. */
  get busy(): boolean {
    return this.running;
  }

  /** The item's output once its batch has run. An abort while it still waits takes it out of the queue and rejects with the signal's reason. */
  submit(item: I, signal?: AbortSignal): Promise<O> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<O>((resolve, reject) => {
      const entry: Entry<I, O> = { item, at: performance.now(), resolve, reject, signal };
      if (signal) {
        entry.onAbort = () => {
          const k = this.queue.indexOf(entry);
          if (k >= 0) {
            this.queue.splice(k, 1);
            reject(signal.reason);
          }
        };
        signal.addEventListener('abort', entry.onAbort, { once: true });
      }
      this.queue.push(entry);
      this.schedule();
    });
  }

  /** Looks again whether a batch can start: call it when `incoming` fell without a submit (an item that never came). */
  wake(): void {
    this.schedule();
  }

  private schedule(): void {
    if (this.running || this.queue.length === 0) return;
    const waited = performance.now() - this.queue[0].at;
    if (this.queue.length >= this.maxBatch || waited >= this.maxWaitMs || this.incoming?.() === 0) {
      this.start();
    } else if (this.timer === null) {
      this.timer = setTimeout(
        () => {
          this.timer = null;
          this.schedule();
        },
        Math.max(0, this.maxWaitMs - waited),
      );
    }
  }

  private start(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const batch = this.queue.splice(0, this.maxBatch);
    for (const e of batch) if (e.onAbort) e.signal!.removeEventListener('abort', e.onAbort);
    this.running = true;
    this.onBatch?.(batch.length);
    let outputs: Promise<O[]>;
    try {
      outputs = this.run(batch.map((e) => e.item));
    } catch (e) {
      outputs = Promise.reject(e);
    }
    outputs
      .then(
        (out) => {
          if (out.length !== batch.length) throw new Error(`DynamicBatcher: a batch of ${batch.length} items got ${out.length} outputs`);
          batch.forEach((e, i) => e.resolve(out[i]));
        },
        (err: unknown) => batch.forEach((e) => e.reject(err)),
      )
      .catch((err: unknown) => batch.forEach((e) => e.reject(err)))
      .finally(() => {
        this.running = false;
        this.schedule();
      });
  }
}
