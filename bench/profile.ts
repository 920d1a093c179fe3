/**
 * `node dist/bench/profile.js MODEL [--batch N] [--size PX] [--train] [--plain] [--reps N]`:
 * where a network's time goes, by layer kind. Forward hooks time every leaf module (a layer
 * with no children); convolutions are told apart by kernel, stride and whether they are
 * depthwise; what runs between layers (residual adds, concatenations, flattening, the
 * squeeze-and-excitation product) is "between layers". Inference runs under noGrad in
 * eval mode in the inference form the Predictor uses (fuseForInference: batch norm folded,
 * activations in the convolutions' epilogues, so their time shows under the convolution);
 * --plain times the unfused network; --train times forward only, in train mode with the
 * tape recording.
 */
import * as tv from '../src/index.js';
import { getModel } from '../src/models/index.js';
import type { AnyModule } from '../src/nn/module.js';

export interface Breakdown {
  total: number;
  kinds: Map<string, { ms: number; calls: number }>;
}

/** A layer's kind: its class, and for a convolution its kernel, stride and grouping. */
function kindOf(m: AnyModule): string {
  if (!(m instanceof tv.nn.Conv2d)) return m.constructor.name;
  const [kh, kw] = m.kernelSize;
  const depthwise = m.groups > 1 && m.groups === m.inChannels && m.outChannels === m.inChannels;
  const groups = depthwise ? ' depthwise' : m.groups > 1 ? ' grouped' : '';
  return `Conv2d ${kh}x${kw}${m.stride[0] > 1 ? ` s${m.stride[0]}` : ''}${groups}`;
}

export function profileForward(net: AnyModule, x: tv.Tensor, reps: number, grad: boolean): Breakdown {
  const kinds = new Map<string, { ms: number; calls: number }>();
  const handles = [];
  let start = 0;
  for (const [, m] of net.namedModules()) {
    if (m.children().length > 0) continue;
    const kind = kindOf(m);
    handles.push(m.registerForwardPreHook(() => void (start = performance.now())));
    handles.push(
      m.registerForwardHook(() => {
        const k = kinds.get(kind) ?? { ms: 0, calls: 0 };
        k.ms += performance.now() - start;
        k.calls++;
        kinds.set(kind, k);
      }),
    );
  }
  const run = () => (grad ? net.call(x) : tv.noGrad(() => net.call(x)));
  run();
  kinds.clear();
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) run();
  const total = (performance.now() - t0) / reps;
  for (const h of handles) h.remove();
  for (const k of kinds.values()) {
    k.ms /= reps;
    k.calls /= reps;
  }
  return { total, kinds };
}

export function formatBreakdown({ total, kinds }: Breakdown): string {
  const rows = [...kinds.entries()].sort((a, b) => b[1].ms - a[1].ms);
  const inLayers = rows.reduce((s, [, k]) => s + k.ms, 0);
  rows.push(['(between layers)', { ms: total - inLayers, calls: 0 }]);
  const lines = rows.map(
    ([name, k]) => `  ${name.padEnd(26)} ${k.ms.toFixed(2).padStart(9)} ms ${((100 * k.ms) / total).toFixed(1).padStart(5)}%  ${k.calls || ''}`,
  );
  return [`  ${'total'.padEnd(26)} ${total.toFixed(2).padStart(9)} ms`, ...lines].join('\n');
}

function main(): void {
  const args = process.argv.slice(2);
  const name = args[0];
  const opt = (flag: string, d: number) => (args.includes(flag) ? Number(args[args.indexOf(flag) + 1]) : d);
  const batch = opt('--batch', 1);
  const size = opt('--size', 224);
  const reps = opt('--reps', 5);
  const train = args.includes('--train');
  const plain = args.includes('--plain');
  tv.manualSeed(0);
  const net = getModel(name);
  if (train) net.train();
  else net.eval();
  const x = tv.randn([batch, 3, size, size]);
  const fused = !train && !plain;
  if (fused) tv.noGrad(() => tv.nn.fuseForInference(net, x));
  const mode = train ? 'train-mode forward' : fused ? 'inference (fused)' : 'inference (plain)';
  console.log(`${name}, batch ${batch}, ${size} px, ${mode}, ${tv.getNumThreads()} threads`);
  console.log(formatBreakdown(profileForward(net, x, reps, train)));
}

if (import.meta.url === `file://${process.argv[1]}`) main();
