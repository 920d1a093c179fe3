/**
 * The Module API: registration by field discovery, traversal order, train/eval,
 * freezing, apply, zeroGrad, stateDict / loadStateDict (strict errors, round
 * trip), Parameter, and the containers. Key names against PyTorch's own are
 * checked in nn-parity.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as tv from '../src/index.js';
import * as nn from '../src/nn/index.js';

type T = tv.Tensor;

class Block extends nn.Module {
  conv = new nn.Linear(3, 3);
  norm = new nn.LayerNorm(3);
  act = new nn.ReLU();

  forward(x: T): T {
    return this.act.call(this.norm.call(this.conv.call(x)));
  }
}

/** Fields declared in an order that differs from the order they are assigned in. */
class Model extends nn.Module {
  embed: nn.Linear;
  blocks: nn.ModuleList<Block>;
  gate: nn.Parameter;
  head: nn.Linear;
  declare steps: T;
  readonly #notAChild = new nn.Linear(2, 2);
  hiddenSize = 3;

  constructor() {
    super();
    this.head = new nn.Linear(3, 2);
    this.gate = new nn.Parameter(tv.ones([3]));
    this.blocks = new nn.ModuleList([new Block(), new Block()]);
    this.embed = new nn.Linear(4, 3);
    this.registerBuffer('steps', tv.zeros([], { dtype: 'int32' }));
  }

  forward(x: T): T {
    let y: T = this.embed.call(x).mul(this.gate);
    for (const b of this.blocks) y = b.call(y);
    return this.head.call(y);
  }

  privateChild(): nn.Linear {
    return this.#notAChild;
  }
}

const names = (pairs: [string, unknown][]) => pairs.map(([k]) => k);

describe('registration', () => {
  test('fields holding modules and parameters register in declaration order, recursively', () => {
    const m = new Model();
    assert.deepEqual(names(m.namedChildren()), ['embed', 'blocks', 'head']);
    assert.deepEqual(names(m.namedParameters()), [
      'gate',
      'embed.weight',
      'embed.bias',
      'blocks.0.conv.weight',
      'blocks.0.conv.bias',
      'blocks.0.norm.weight',
      'blocks.0.norm.bias',
      'blocks.1.conv.weight',
      'blocks.1.conv.bias',
      'blocks.1.norm.weight',
      'blocks.1.norm.bias',
      'head.weight',
      'head.bias',
    ]);
    assert.deepEqual(names(m.namedModules()), [
      '',
      'embed',
      'blocks',
      'blocks.0',
      'blocks.0.conv',
      'blocks.0.norm',
      'blocks.0.act',
      'blocks.1',
      'blocks.1.conv',
      'blocks.1.norm',
      'blocks.1.act',
      'head',
    ]);
    assert.deepEqual(names(m.namedBuffers()), ['steps']);
    assert.equal(m.modules()[0], m);
    assert.equal(m.parameters()[0], m.gate);
    assert.equal(m.children()[1], m.blocks);
    assert.equal(m.getSubmodule('blocks.1.norm'), m.blocks.at(1).norm);
    assert.equal(m.getSubmodule(''), m);
    assert.throws(() => m.getSubmodule('blocks.2'), /no child "2"/);
  });

  test('#private fields and plain values are not registered', () => {
    const m = new Model();
    assert.ok(!m.modules().includes(m.privateChild()));
    assert.ok(!m.parameters().includes(m.privateChild().weight));
    assert.ok(!names(m.namedParameters()).some((k) => k.includes('hiddenSize')));
  });

  test('parameters(recurse false) and prefixes', () => {
    const m = new Model();
    assert.deepEqual(m.parameters({ recurse: false }), [m.gate]);
    assert.deepEqual(names(m.head.namedParameters({ prefix: 'head' })), ['head.weight', 'head.bias']);
    assert.deepEqual([...m.head.stateDict({ prefix: 'x.y' }).keys()], ['x.y.weight', 'x.y.bias']);
  });

  test('reassigning a field replaces the child; null removes it', () => {
    const m = new Model();
    const fresh = new nn.Linear(3, 5);
    m.head = fresh;
    assert.equal(m.getSubmodule('head'), fresh);
    assert.deepEqual([...m.stateDict().get('head.weight')!.shape], [5, 3]);
    (m as unknown as { head: nn.Linear | null }).head = null;
    assert.ok(!names(m.namedChildren()).includes('head'));
    const lin = new nn.Linear(2, 2, { bias: false });
    assert.equal(lin.bias, null);
    assert.deepEqual([...lin.stateDict().keys()], ['weight']);
  });

  test('registerParameter / registerModule / registerBuffer set the field, and check names', () => {
    class Custom extends nn.Module {
      forward(x: T): T {
        return x;
      }
    }
    const m = new Custom();
    m.registerParameter('alpha', new nn.Parameter(tv.zeros([2])));
    m.registerModule('layer1', new nn.Identity());
    m.registerBuffer('running_mean', tv.zeros([2]));
    m.registerBuffer('cache', tv.zeros([2]), { persistent: false });
    assert.deepEqual([...m.stateDict().keys()], ['alpha', 'running_mean']);
    assert.deepEqual(names(m.namedBuffers()), ['running_mean', 'cache']);
    assert.equal(names(m.namedChildren())[0], 'layer1');
    // a buffer stays a buffer when reassigned, and a null buffer is skipped
    (m as unknown as Record<string, T | null>).running_mean = tv.ones([2]);
    assert.deepEqual(Array.from(m.buffer('running_mean')!.data), [1, 1]);
    (m as unknown as Record<string, T | null>).running_mean = null;
    assert.deepEqual([...m.stateDict().keys()], ['alpha']);
    assert.throws(() => m.buffer('nope'), /no buffer "nope"/);
    assert.throws(() => m.registerParameter('a.b', null), /without dots/);
    assert.throws(() => m.registerParameter('', null), /non-empty/);
    assert.throws(() => m.registerModule('forward', new nn.Identity()), /hide the Custom.forward method/);
    assert.throws(() => m.registerParameter('w', tv.zeros([2]) as unknown as nn.Parameter), /must be a Parameter/);
    assert.throws(() => m.registerBuffer('p', new nn.Parameter(tv.zeros([1]))), /is a Parameter/);
  });

  test('an array of modules in a field is an error that points to ModuleList', () => {
    class Bad extends nn.Module {
      layers = [new nn.Linear(2, 2), new nn.Linear(2, 2)];
      forward(x: T): T {
        return x;
      }
    }
    assert.throws(() => new Bad().parameters(), /Bad\.layers is an array of modules.*ModuleList/);
  });

  test('a shared module or parameter is listed once; the state dict keeps both keys, as PyTorch', () => {
    class Tied extends nn.Module {
      a = new nn.Linear(2, 2);
      b = this.a;
      forward(x: T): T {
        return this.b.call(this.a.call(x));
      }
    }
    const m = new Tied();
    assert.deepEqual(names(m.namedModules()), ['', 'a']);
    assert.deepEqual(names(m.namedParameters()), ['a.weight', 'a.bias']);
    assert.equal(nn.countParameters(m), 6);
    assert.deepEqual([...m.stateDict().keys()], ['a.weight', 'a.bias', 'b.weight', 'b.bias']);
  });

  test('forward pre-hooks and hooks run around forward, in order, may replace inputs and output, and are removed by their handles', () => {
    const lin = new nn.Linear(4, 2);
    const x = tv.randn([3, 4]);
    const seen: string[] = [];
    const h1 = lin.registerForwardPreHook((m, [input]) => {
      seen.push(`pre ${m.constructor.name} ${input.shape}`);
      return [input.mul(2)];
    });
    const h2 = lin.registerForwardHook((_m, [input], out) => {
      seen.push(`post ${input.shape} -> ${out.shape}`);
    });
    const h3 = lin.registerForwardHook((_m, _inputs, out) => out.add(1));
    const y = lin.call(x);
    assert.deepEqual(seen, ['pre Linear 3,4', 'post 3,4 -> 3,2']);
    assert.deepEqual(Array.from(y.data), Array.from(lin.forward(x.mul(2)).add(1).data));
    h1.remove();
    h3.remove();
    h3.remove(); // removing twice is harmless
    assert.deepEqual(Array.from(lin.call(x).data), Array.from(lin.forward(x).data));
    h2.remove();
    seen.length = 0;
    lin.call(x);
    assert.deepEqual(seen, []);
    assert.throws(() => lin.registerForwardHook(null as never), /registerForwardHook: the hook must be a function/);
  });

  test('call runs forward with its types', () => {
    const lin = new nn.Linear(4, 2);
    const x = tv.randn([3, 4]);
    const y: tv.Tensor<'float32'> = lin.call(x);
    assert.deepEqual(Array.from(y.data), Array.from(lin.forward(x).data));
  });

  test('Parameter is a float32 leaf that shares storage and requires grad', () => {
    const t = tv.randn([2, 3]);
    const p = new nn.Parameter(t);
    assert.ok(p instanceof tv.Tensor);
    assert.equal(p.requiresGrad, true);
    assert.equal(p.data, t.data);
    assert.equal(new nn.Parameter(t, false).requiresGrad, false);
    assert.throws(() => new nn.Parameter(tv.zeros([2], { dtype: 'int32' })), /float32/);
    assert.deepEqual([...p.add(1).shape], [2, 3]);
  });
});

describe('modes and gradients', () => {
  test('train / eval propagate to every descendant', () => {
    const m = new Model();
    assert.ok(m.modules().every((x) => x.training));
    assert.equal(m.eval(), m);
    assert.ok(m.modules().every((x) => !x.training));
    m.blocks.at(0).train();
    assert.ok(
      m.blocks
        .at(0)
        .modules()
        .every((x) => x.training),
    );
    assert.equal(m.training, false);
    m.train();
    assert.ok(m.modules().every((x) => x.training));
  });

  test('eval switches Dropout off', () => {
    const seq = new nn.Sequential(new nn.Dropout(0.5));
    const x = tv.ones([1000]);
    assert.ok(seq.call(x).data.some((v) => v === 0));
    seq.eval();
    assert.deepEqual(Array.from(seq.call(x).data), Array.from(x.data));
  });

  test('requiresGrad(false) freezes a subtree: its parameters get no gradient', () => {
    const m = new Model();
    m.embed.requiresGrad(false);
    m.blocks.at(0).requiresGrad(false);
    m.call(tv.randn([2, 4]))
      .sum()
      .backward();
    for (const [k, p] of m.namedParameters()) {
      const frozen = k.startsWith('embed.') || k.startsWith('blocks.0.');
      assert.equal(p.requiresGrad, !frozen, k);
      assert.equal(p.grad === null, frozen, `${k}: gradient ${frozen ? 'should be absent' : 'missing'}`);
    }
    const total = nn.countParameters(m);
    const frozen = nn.countParameters(m.embed) + nn.countParameters(m.blocks.at(0));
    assert.equal(nn.countParameters(m, { trainableOnly: true }), total - frozen);
    assert.equal(total, 3 + (4 * 3 + 3) + 2 * (9 + 3 + 3 + 3) + (3 * 2 + 2));
    m.requiresGrad();
    assert.equal(nn.countParameters(m, { trainableOnly: true }), total);
  });

  test('zeroGrad clears every gradient', () => {
    const m = new Model();
    m.call(tv.randn([2, 4]))
      .sum()
      .backward();
    assert.ok(m.parameters().every((p) => p.grad !== null));
    m.zeroGrad();
    assert.ok(m.parameters().every((p) => p.grad === null));
  });

  test('apply visits children before their parent', () => {
    const m = new Model();
    const seen: string[] = [];
    assert.equal(
      m.apply((x) => seen.push(x.constructor.name)),
      m,
    );
    assert.deepEqual(seen, ['Linear', 'Linear', 'LayerNorm', 'ReLU', 'Block', 'Linear', 'LayerNorm', 'ReLU', 'Block', 'ModuleList', 'Linear', 'Model']);
    // the typical use: re-initialise every Linear
    m.apply((x) => {
      if (x instanceof nn.Linear) nn.init.zeros(x.weight);
    });
    assert.ok(m.head.weight.data.every((v) => v === 0));
  });
});

describe('state dict', () => {
  test('keys, order, dtypes; values are detached and share storage', () => {
    const m = new Model();
    const sd = m.stateDict();
    assert.deepEqual([...sd.keys()].slice(0, 4), ['gate', 'steps', 'embed.weight', 'embed.bias']);
    assert.equal(sd.get('steps')!.dtype, 'int32');
    const w = sd.get('head.weight')!;
    assert.equal(w.data, m.head.weight.data);
    assert.equal(w.requiresGrad, false);
    assert.equal(w.gradFn, null);
  });

  test("round trip: a fresh model loads another one's state and computes the same", () => {
    tv.manualSeed(1);
    const a = new Model();
    (a.steps.data as Int32Array)[0] = 42;
    tv.manualSeed(2);
    const b = new Model();
    const x = tv.randn([3, 4]);
    assert.notDeepEqual(Array.from(a.call(x).data), Array.from(b.call(x).data));
    const before = b.parameters();
    const snapshot = new Map([...a.stateDict()].map(([k, t]) => [k, t.clone()]));
    assert.deepEqual(b.loadStateDict(snapshot), { missingKeys: [], unexpectedKeys: [] });
    assert.deepEqual(Array.from(b.call(x).data), Array.from(a.call(x).data));
    assert.equal(b.steps.item(), 42);
    // in place: the same Parameter objects (an optimizer's references stay valid), not aliases of the source
    b.parameters().forEach((p, i) => assert.equal(p, before[i]));
    snapshot.get('head.bias')!.data[0] += 1;
    assert.notEqual(b.head.bias!.data[0], snapshot.get('head.bias')!.data[0]);
    // a plain object works too
    b.loadStateDict(Object.fromEntries(snapshot));
    assert.equal(b.head.bias!.data[0], snapshot.get('head.bias')!.data[0]);
  });

  test('strict loading lists every missing, unexpected and mis-shaped key, and changes nothing', () => {
    const m = new Model();
    const sd = new Map([...m.stateDict()].map(([k, t]) => [k, t.clone()]));
    sd.delete('gate');
    sd.delete('blocks.1.norm.bias');
    sd.delete('steps');
    sd.set('blocks.2.conv.weight', tv.zeros([3, 3]));
    sd.set('head.extra', tv.zeros([1]));
    sd.set('embed.weight', tv.zeros([4, 3]));
    sd.set('head.bias', tv.zeros([3]));
    sd.set('blocks.0.conv.bias', tv.full([3], 7));
    const headBias = Array.from(m.head.bias!.data);
    const convBias = Array.from(m.blocks.at(0).conv.bias!.data);
    let err: nn.StateDictError | undefined;
    try {
      m.loadStateDict(sd);
    } catch (e) {
      err = e as nn.StateDictError;
    }
    assert.ok(err instanceof nn.StateDictError, 'loadStateDict should throw a StateDictError');
    assert.deepEqual(err.missingKeys, ['gate', 'steps', 'blocks.1.norm.bias']);
    assert.deepEqual(err.unexpectedKeys, ['blocks.2.conv.weight', 'head.extra']);
    assert.deepEqual(
      err.mismatchedKeys.map((x) => x.key),
      ['embed.weight', 'head.bias'],
    );
    for (const key of ['"gate"', '"steps"', '"blocks.1.norm.bias"', '"blocks.2.conv.weight"', '"head.extra"']) {
      assert.ok(err.message.includes(key), `message should name ${key}:\n${err.message}`);
    }
    assert.match(err.message, /size mismatch for "embed.weight": the state dict has shape \[4, 3\], the module expects \[3, 4\]/);
    assert.match(err.message, /size mismatch for "head.bias": the state dict has shape \[3\], the module expects \[2\]/);
    assert.match(err.message, /for Model/);
    assert.deepEqual(Array.from(m.head.bias!.data), headBias);
    assert.deepEqual(Array.from(m.blocks.at(0).conv.bias!.data), convBias, 'nothing is copied when loading fails');
  });

  test('non-strict loading reports missing and unexpected keys, loads the rest, still refuses wrong shapes', () => {
    const m = new Model();
    const sd = new Map<string, T>([
      ['head.bias', tv.tensor([5, 6])],
      ['nope', tv.zeros([1])],
    ]);
    const res = m.loadStateDict(sd, { strict: false });
    assert.deepEqual(res.unexpectedKeys, ['nope']);
    assert.equal(res.missingKeys.length, m.stateDict().size - 1);
    assert.deepEqual(Array.from(m.head.bias!.data), [5, 6]);
    assert.throws(() => m.loadStateDict(new Map([['head.bias', tv.zeros([3])]]), { strict: false }), /size mismatch for "head.bias"/);
  });

  test('values are converted to the destination dtype (an int buffer from float32)', () => {
    const m = new Model();
    const sd = m.stateDict();
    sd.set('steps', tv.scalar(9));
    m.loadStateDict(sd);
    assert.equal(m.steps.dtype, 'int32');
    assert.equal(m.steps.item(), 9);
  });
});

describe('containers', () => {
  test('Sequential numbers its children and runs them in order', () => {
    const seq = new nn.Sequential(new nn.Linear(4, 3), new nn.ReLU(), new nn.Linear(3, 2));
    assert.deepEqual([...seq.stateDict().keys()], ['0.weight', '0.bias', '2.weight', '2.bias']);
    assert.equal(seq.length, 3);
    assert.ok(seq.at(-1) instanceof nn.Linear);
    assert.ok(seq.at(1) instanceof nn.ReLU);
    assert.throws(() => seq.at(3), /out of range/);
    const x = tv.randn([5, 4]);
    const [l0, , l2] = [...seq] as [nn.Linear, nn.Module, nn.Linear];
    assert.deepEqual(Array.from(seq.call(x).data), Array.from(l2.call(l0.call(x).relu()).data));
    seq.append(new nn.Sigmoid());
    assert.deepEqual(names(seq.namedChildren()), ['0', '1', '2', '3']);
    assert.ok(seq.call(x).data.every((v) => v > 0 && v < 1));
  });

  test('Sequential from a Map keeps its order (integer-like names included); from a record', () => {
    const seq = new nn.Sequential(
      new Map<string, nn.Module>([
        ['conv', new nn.Linear(2, 2)],
        ['10', new nn.ReLU()],
        ['2', new nn.Linear(2, 1)],
      ]),
    );
    assert.deepEqual(names(seq.namedChildren()), ['conv', '10', '2']);
    assert.deepEqual([...seq.stateDict().keys()], ['conv.weight', 'conv.bias', '2.weight', '2.bias']);
    const rec = new nn.Sequential({ fc: new nn.Linear(2, 2), act: new nn.Tanh() });
    assert.deepEqual(names(rec.namedChildren()), ['fc', 'act']);
    rec.registerModule('act', null);
    assert.deepEqual(names(rec.namedChildren()), ['fc']);
    assert.throws(() => new nn.Sequential({ 'a.b': new nn.ReLU() }), /without dots/);
    assert.throws(() => new nn.Sequential(new nn.ReLU(), 3 as unknown as nn.Module), /expected a Module/);
  });

  test('ModuleList registers, renumbers on insert, and has no forward', () => {
    const list = new nn.ModuleList<nn.Module>([new nn.Linear(2, 2), new nn.Linear(2, 3)]);
    list.append(new nn.Linear(3, 4));
    list.insert(0, new nn.Linear(1, 2));
    assert.equal(list.length, 4);
    assert.deepEqual(
      [...list.stateDict().entries()].filter(([k]) => k.endsWith('weight')).map(([k, t]) => `${k}:${t.shape.join('x')}`),
      ['0.weight:2x1', '1.weight:2x2', '2.weight:3x2', '3.weight:4x3'],
    );
    list.extend([new nn.ReLU()]);
    assert.ok(list.at(-1) instanceof nn.ReLU);
    list.set(-1, new nn.Tanh());
    assert.ok(list.at(4) instanceof nn.Tanh);
    assert.throws(() => list.forward(), /no forward/);
    assert.throws(() => list.append({} as nn.Module), /expected a Module/);
  });

  test('ModuleDict keeps insertion order and behaves like a Map', () => {
    const dict = new nn.ModuleDict<nn.Module>({ b: new nn.Linear(1, 1), a: new nn.Linear(1, 2) });
    dict.set('0', new nn.ReLU());
    assert.deepEqual([...dict.keys()], ['b', 'a', '0']);
    assert.deepEqual([...dict.stateDict().keys()], ['b.weight', 'b.bias', 'a.weight', 'a.bias']);
    assert.ok(dict.has('a'));
    assert.equal(dict.size, 3);
    assert.ok(dict.get('0') instanceof nn.ReLU);
    assert.ok(dict.delete('b'));
    assert.deepEqual(
      [...dict].map(([k]) => k),
      ['a', '0'],
    );
    assert.throws(() => dict.set('x.y', new nn.ReLU()), /without dots/);
    assert.throws(() => dict.forward(), /no forward/);
    assert.deepEqual([...new nn.ModuleDict(new Map<string, nn.Module>([['k', new nn.ReLU()]])).keys()], ['k']);
  });

  test('toString prints the tree', () => {
    const seq = new nn.Sequential(new nn.Linear(4, 3), new nn.Sequential(new nn.GELU({ approximate: 'tanh' }), new nn.Dropout(0.1)));
    assert.equal(
      String(seq),
      [
        'Sequential(',
        '  (0): Linear(inFeatures=4, outFeatures=3, bias=true)',
        '  (1): Sequential(',
        "    (0): GELU(approximate='tanh')",
        '    (1): Dropout(p=0.1)',
        '  )',
        ')',
      ].join('\n'),
    );
  });
});
