/**
 * SampleError: a sample that cannot be loaded (an image that does not decode).
 * A dataset reports it (ImageFolder's onError) and throws it; the DataLoader
 * leaves that sample out of its batch and goes on. Any other error is a bug
 * and stops the loop.
 */
export class SampleError extends Error {
  constructor(
    message: string,
    /** the dataset index of the sample */
    readonly index: number,
    /** the file, when the sample is one */
    readonly path?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SampleError';
  }
}
