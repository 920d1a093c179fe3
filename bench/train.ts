/**
 * Training workloads (images per second of a whole step: forward, cross-entropy,
 * backward, Adam), each a registered model beside the same network in PyTorch:
 *   cifar-cnn-train  the CIFAR-10 CNN (cifar_cnn), batch 256
 *   small-net-train  a small two-class tanh CNN (small_net), batch 64
 *   mlp-train        784-512-10 MLP with dropout (mlp), batch 64
 *   convnet-train    ConvNet (convnet, the command line's default model) on 3x64x64, batch 32
 */
import * as tv from '../src/index.js';
import * as nn from '../src/nn/index.js';
import { Adam } from '../src/optim/index.js';
import { getModel } from '../src/models/index.js';
import type { Row } from './report.js';
import { timed } from './timing.js';
import { runTorchBest, torchPython } from './torch.js';

interface Net {
  name: string;
  make: () => nn.Module;
  input: number[];
  classes: number;
  batch: number;
}

const NETS: Net[] = [
  { name: 'cifar-cnn-train', input: [3, 32, 32], classes: 10, batch: 256, make: () => getModel('cifar_cnn') },
  { name: 'small-net-train', input: [3, 32, 32], classes: 2, batch: 64, make: () => getModel('small_net') },
  {
    name: 'mlp-train',
    input: [1, 28, 28],
    classes: 10,
    batch: 64,
    make: () => getModel('mlp', { inputSize: 784, hidden: [512], numClasses: 10, dropout: 0.2 }),
  },
  { name: 'convnet-train', input: [3, 64, 64], classes: 10, batch: 32, make: () => getModel('convnet', { numClasses: 10 }) },
];

function tsvisionImagesPerSecond(net: Net, seconds: number): number {
  tv.manualSeed(0);
  const model = net.make();
  model.train();
  const optimizer = new Adam(model.parameters(), { lr: 1e-3 });
  const lossFn = new nn.CrossEntropyLoss();
  const x = tv.randn([net.batch, ...net.input]);
  const y = tv.randint(0, net.classes, [net.batch]);
  const step = () => {
    optimizer.zeroGrad();
    const loss = lossFn.call(model.call(x), y);
    loss.backward();
    optimizer.step();
  };
  return net.batch / timed(step, seconds);
}

function trainWorkload(net: Net) {
  return (reps: number): Row[] => {
    const withTorch = torchPython() !== null;
    let ours = 0;
    let theirs = 0;
    let theirThreads = 0;
    for (let r = 0; r < reps; r++) {
      ours = Math.max(ours, tsvisionImagesPerSecond(net, 2));
      if (withTorch) {
        const t = runTorchBest('train', { net: net.name, batch: net.batch, seconds: 2 }, 'images_per_s');
        if (t.images_per_s > theirs) [theirs, theirThreads] = [t.images_per_s, t.threads];
      }
    }
    return [
      {
        workload: net.name,
        case: `batch ${net.batch}`,
        unit: 'img/s',
        tsvision: ours,
        tsvisionThreads: tv.getNumThreads(),
        pytorch: withTorch ? theirs : null,
        pytorchThreads: withTorch ? theirThreads : null,
      },
    ];
  };
}

export const trainWorkloads: Record<string, (reps: number) => Row[]> = Object.fromEntries(NETS.map((n) => [n.name, trainWorkload(n)]));
