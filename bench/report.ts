/**
 * One benchmark result row: printed as a table line and as JSON. Ratios are tsvision / peer,
 * higher is better for tsvision. The peers are PyTorch and, for the inference workloads,
 * onnxruntime-node; peak resident memory (MB) is given where each side ran in its own process.
 */
export interface Row {
  workload: string;
  case: string;
  unit: string;
  tsvision: number;
  tsvisionThreads: number;
  pytorch: number | null;
  pytorchThreads: number | null;
  onnxruntime?: number | null;
  onnxruntimeThreads?: number | null;
  peakMB?: { tsvision: number; pytorch: number | null; onnxruntime?: number | null };
  /** For units where lower is better (seconds), the ratio is inverted so that > 1 still means tsvision is faster. */
  lowerIsBetter?: boolean;
}

function ratioTo(row: Row, peer: number | null | undefined): number | null {
  if (peer === null || peer === undefined || peer === 0) return null;
  return row.lowerIsBetter ? peer / row.tsvision : row.tsvision / peer;
}

export function ratio(row: Row): number | null {
  return ratioTo(row, row.pytorch);
}

export function onnxruntimeRatio(row: Row): number | null {
  return ratioTo(row, row.onnxruntime);
}

export function printHeader(): void {
  console.log(
    `${'workload'.padEnd(26)}${'case'.padEnd(16)}${'unit'.padEnd(9)}${'tsvision'.padStart(10)}${'pytorch'.padStart(10)}${'ratio'.padStart(8)}` +
      `${'onnxrt'.padStart(10)}${'ratio'.padStart(8)}${'peak MB ts/pt/ort'.padStart(20)}`,
  );
}

export function printRow(row: Row): void {
  const r = ratio(row);
  const o = onnxruntimeRatio(row);
  const fmt = (v: number | null | undefined) => (v === null || v === undefined ? '-' : v.toFixed(1));
  const x = (v: number | null) => (v === null ? '-' : `${v.toFixed(2)}x`);
  const mem = row.peakMB ? [row.peakMB.tsvision, row.peakMB.pytorch, row.peakMB.onnxruntime].map((v) => (v == null ? '-' : v.toFixed(0))).join('/') : '';
  console.log(
    `${row.workload.padEnd(26)}${row.case.padEnd(16)}${row.unit.padEnd(9)}${fmt(row.tsvision).padStart(10)}${fmt(row.pytorch).padStart(10)}${x(r).padStart(8)}` +
      `${fmt(row.onnxruntime).padStart(10)}${x(o).padStart(8)}${mem.padStart(20)}`,
  );
  console.log(`JSON ${JSON.stringify({ ...row, ratio: r, onnxruntimeRatio: o })}`);
}
