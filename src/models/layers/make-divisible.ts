/**
 * Channel rounding of the mobile networks (MobileNetV2/V3, EfficientNet): a width
 * times a multiplier, rounded to the nearest multiple of `divisor` (8 keeps SIMD
 * lanes and tensor cores full), at least `minValue`, and never more than 10% below
 * the exact value (rounding 36 down to 32 would lose too much).
 */
export function makeDivisible(value: number, divisor = 8, minValue: number = divisor): number {
  let v = Math.max(minValue, Math.floor(Math.trunc(value + divisor / 2) / divisor) * divisor);
  if (v < 0.9 * value) v += divisor;
  return v;
}
