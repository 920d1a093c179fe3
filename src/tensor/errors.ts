/** Thrown when operand shapes do not fit an op; the message names the op and the shapes. */
export class ShapeError extends Error {
  override name = 'ShapeError';
}

/** Thrown when an op gets a dtype it does not accept; the message names the op and the dtypes. */
export class DTypeError extends TypeError {
  override name = 'DTypeError';
}

export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
