/**
 * docs/convolutions.md runs: every ```ts block under a "###" heading that defines
 * `model` is executed with `tv` and `nn` in scope; its output must have the shape
 * written after "// →", and the comparison table's numbers (parameters, MACs,
 * receptive field, the standard convolution's parameters and MACs, the ratio) must
 * equal what nn.countParameters and nn.summary compute for the block's `model` and
 * `standard`. Plus the claims the page makes in prose (Sobel, channel shuffle).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import * as tv from '../src/index.js';
import * as nn from '../src/nn/index.js';

interface Example {
  title: string;
  code: string;
}

interface Ran {
  x: tv.Tensor;
  model: nn.Module;
  y: tv.Tensor;
  standard?: nn.Module;
  xStandard?: tv.Tensor;
}

const DOC = readFileSync(new URL('../../docs/convolutions.md', import.meta.url), 'utf8');

/** The first ts block of each "###" section that defines `model`. */
function examples(doc: string): Example[] {
  const out: Example[] = [];
  for (const part of doc.split(/^### /m).slice(1)) {
    const title = part.slice(0, part.indexOf('\n')).trim();
    const block = /```ts\n([\s\S]*?)```/.exec(part);
    if (block && /\bconst model\b/.test(block[1])) out.push({ title, code: block[1] });
  }
  return out;
}

/** The comparison table: variant → its cells. */
function table(doc: string): Map<string, string[]> {
  const section = doc.slice(doc.indexOf('## Comparison'));
  const rows = section
    .split('\n')
    .filter((l) => l.startsWith('| '))
    .slice(1);
  return new Map(
    rows
      .filter((l) => !l.startsWith('| ---'))
      .map((l) => {
        const cells = l
          .split('|')
          .slice(1, -1)
          .map((c) => c.trim());
        return [cells[0], cells.slice(1)];
      }),
  );
}

function run(e: Example): Ran {
  const body =
    `${e.code}\nreturn { x, model, y, ` +
    "standard: typeof standard === 'undefined' ? undefined : standard, xStandard: typeof xStandard === 'undefined' ? undefined : xStandard };";
  return new Function('tv', 'nn', body)(tv, nn) as Ran;
}

const int = (n: number) => n.toLocaleString('en-US');

/** The table's cells as nn.summary and nn.countParameters compute them for the example. */
function computed(r: Ran): string[] {
  const s = nn.summary(r.model, r.x.shape);
  const rf = s.rows.at(-1)!.receptiveField;
  const cells = [int(nn.countParameters(r.model)), int(s.totalMacs), rf ? rf.join('x') : '-'];
  if (!r.standard) return [...cells, '—', '—', '—'];
  const st = nn.summary(r.standard, (r.xStandard ?? r.x).shape);
  const pRatio = nn.countParameters(r.model) / st.totalParams;
  const mRatio = s.totalMacs / st.totalMacs;
  assert.equal(pRatio.toFixed(3), mRatio.toFixed(3), 'parameter and MAC ratios agree');
  return [...cells, int(st.totalParams), int(st.totalMacs), pRatio.toFixed(3)];
}

function checkExample(e: Example, rows: Map<string, string[]>): void {
  const r = run(e);
  const shape = /\/\/ → \[([\d, ]+)\]/.exec(e.code);
  assert.ok(shape, `${e.title}: no "// → [shape]" comment`);
  assert.deepEqual([...r.y.shape], shape[1].split(',').map(Number), `${e.title}: output shape`);
  if (r.standard) {
    const ys = r.standard.call(r.xStandard ?? r.x);
    // a replacement produces the same shape; a transposed convolution maps the standard's output shape back to its input shape
    assert.deepEqual([...ys.shape], r.xStandard ? [...r.x.shape] : [...r.y.shape], `${e.title}: standard's shape`);
  }
  const row = rows.get(e.title);
  assert.ok(row, `${e.title}: no row in the comparison table`);
  assert.deepEqual(row, computed(r), `${e.title}: table row`);
}

describe('docs/convolutions.md', () => {
  const all = examples(DOC);
  const rows = table(DOC);

  test('every example has a table row and every row an example', () => {
    assert.equal(all.length, 10);
    assert.deepEqual(
      all.map((e) => e.title),
      [...rows.keys()],
    );
  });

  test('the check rejects a wrong number in the table or a wrong shape comment', () => {
    const e = all.find((k) => k.title === 'Depthwise separable convolution')!;
    checkExample(e, rows);
    const badRows = table(DOC.replace('| Depthwise separable convolution | 2,336 |', '| Depthwise separable convolution | 2,337 |'));
    assert.throws(() => checkExample(e, badRows), /Depthwise separable convolution: table row/);
    const badRatio = table(DOC.replace('| 1,906,688 | 3x3 | 18,432 | 14,450,688 | 0.132 |', '| 1,906,688 | 3x3 | 18,432 | 14,450,688 | 0.131 |'));
    assert.throws(
      () =>
        checkExample(
          all.find((k) => k.title === 'Flattened convolution')!,
          badRatio,
        ),
      /table row/,
    );
    const badShape = { ...e, code: e.code.replace('// → [1, 64, 28, 28]', '// → [1, 64, 26, 26]') };
    assert.throws(() => checkExample(badShape, rows), /output shape/);
  });

  for (const e of all) test(e.title, () => checkExample(e, rows));

  test('the Sobel example responds to a vertical edge', () => {
    const e = all.find((k) => k.title === 'Single-channel 2-D convolution')!;
    const { model } = run(e);
    const edge = tv.tensor(
      Array.from({ length: 25 }, (_, i) => (i % 5 >= 2 ? 1 : 0)),
      { shape: [1, 1, 5, 5] },
    );
    assert.deepEqual(Array.from(model.call(edge).data), [4, 4, 0, 4, 4, 0, 4, 4, 0]);
  });

  test('channel shuffle: without it output channel 0 sees 8 of the 32 input channels, with it all 32', () => {
    const e = all.find((k) => k.title === 'Shuffled grouped convolution')!;
    const model = run(e).model as nn.Sequential;
    const reached = (m: nn.Module) => {
      const x = tv.randn([1, 32, 5, 5]).requiresGrad_();
      m.call(x).slice(1, 0, 1).sum().backward();
      const g = x.grad!.data;
      let n = 0;
      for (let c = 0; c < 32; c++) if (g.subarray(c * 25, c * 25 + 25).some((v) => v !== 0)) n++;
      return n;
    };
    assert.equal(reached(model), 32);
    assert.equal(reached(new nn.Sequential(model.at(0), model.at(2))), 8);
  });
});
