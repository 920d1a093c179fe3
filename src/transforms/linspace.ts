/** torch.linspace's float32 rounding, which the policies' magnitude tables and torchvision's affine grid inherit. */
const f32 = Math.fround;

/**
 * torch.linspace in float32, rounding as torch 1.13's CPU kernel does (the first half
 * counted up from start, the second down from end, each a fused multiply-add; whole
 * blocks of 16 as two vectors of 8 lanes, each lane base + k * step): the magnitude
 * tables are its output, and a policy's magnitudes must be torchvision's to the bit.
 */
export function linspace32(start: number, end: number, steps: number): number[] {
  const a = f32(start);
  const b = f32(end);
  if (steps === 1) return [a];
  const step = f32(f32(b - a) / (steps - 1));
  const half = Math.floor(steps / 2);
  const at = (i: number) => (i < half ? f32(a + step * i) : f32(b - step * (steps - i - 1)));
  const out: number[] = [];
  let i = 0;
  for (; i + 16 <= steps;) {
    for (let v = 0; v < 2; v++, i += 8) {
      const base = at(i);
      for (let k = 0; k < 8; k++) out.push(f32(base + f32(step * k)));
    }
  }
  for (; i < steps; i++) out.push(at(i));
  return out;
}
