/**
 * Every architecture of the zoo against torchvision 0.14: the same parameter count and
 * ordered state-dict keys, and with the same formula weights (test/formula-weights.ts)
 * the same eval-mode logits; for some, the same train-mode logits and input gradient.
 * Fixtures: tools/make_zoo_fixtures.py writes test/fixtures/zoo/<model>.json.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { getModel } from '../src/models/index.js';
import { countParameters, init } from '../src/nn/index.js';
import { noGrad } from '../src/tensor/autograd.js';

import '../src/tensor/methods.js';
import { formulaInput, loadFormulaWeights } from './formula-weights.js';

interface Fixture {
  model: string;
  config: Record<string, never>;
  paramCount: number;
  keys: string[];
  eval: { inputShape: number[]; logits: number[] };
  train?: { config: Record<string, never>; inputShape: number[]; logits: number[]; inputGrad: number[] };
}

const DIR = new URL('../../test/fixtures/zoo/', import.meta.url);
const FIXTURES: Fixture[] = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => JSON.parse(readFileSync(new URL(f, DIR), 'utf8')) as Fixture);

/** Asserts max |a - e| <= rel * max |e|: errors measured against the largest value, as for logits. */
function assertNear(actual: ArrayLike<number>, expected: number[], rel: number, label: string): number {
  assert.equal(actual.length, expected.length, `${label}: ${actual.length} values, expected ${expected.length}`);
  let scale = 0;
  for (const v of expected) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  let at = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= worst)) {
      worst = d;
      at = i;
    }
  }
  assert.ok(
    worst <= rel * scale,
    `${label}: element ${at} is ${actual[at]}, expected ${expected[at]} (|diff| ${worst.toExponential(3)} > ${rel} x max ${scale.toExponential(3)})`,
  );
  return worst / scale;
}

describe('model zoo parity with torchvision', () => {
  for (const fx of FIXTURES) {
    test(`${fx.model}: keys, parameter count and eval logits${fx.train ? ', train logits and input gradient' : ''}`, () => {
      // every tensor is loaded from the formula: the random initialisation would be thrown away
      const net = init.skipInit(() => getModel(fx.model, fx.config));
      assert.equal(countParameters(net), fx.paramCount, 'parameter count');
      const keys = [...net.stateDict()].map(([k, t]) => `${k}:${t.shape.join('x')}`);
      assert.deepEqual(keys, fx.keys, 'state-dict keys and shapes, in order');
      loadFormulaWeights(net);
      net.eval();
      const y = noGrad(() => net.call(formulaInput('input', fx.eval.inputShape)));
      const evalError = assertNear(y.data, fx.eval.logits, 1e-4, `${fx.model} eval logits`);
      console.log(`# ${fx.model}: ${fx.paramCount} parameters, eval error ${evalError.toExponential(1)} of the largest logit`);
      const train = fx.train;
      if (train) {
        const t = init.skipInit(() => getModel(fx.model, train.config));
        loadFormulaWeights(t);
        t.train();
        const x = formulaInput('input', train.inputShape).requiresGrad_();
        const out = t.call(x);
        const trainError = assertNear(out.data, train.logits, 1e-4, `${fx.model} train logits`);
        out.mul(formulaInput('grad_output', out.shape)).sum().backward();
        const gradError = assertNear(x.grad!.data, train.inputGrad, 1e-4, `${fx.model} train input gradient`);
        console.log(`# ${fx.model}: train logits error ${trainError.toExponential(1)}, input gradient error ${gradError.toExponential(1)}`);
      }
    });
  }
});
