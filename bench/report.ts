/** One benchmark result row: printed as a table line and as JSON. Ratios are tsvision / PyTorch, higher is better for tsvision. */
export interface Row {
  workload: string;
  case: string;
  unit: string;
  tsvision: number;
  tsvisionThreads: number;
  pytorch: number | null;
  pytorchThreads: number | null;
  /** For units where lower is better (seconds), the ratio is inverted so that > 1 still means tsvision is faster. */
  lowerIsBetter?: boolean;
}

export function ratio(row: Row): number | null {
  if (row.pytorch === null || row.pytorch === 0) return null;
  return row.lowerIsBetter ? row.pytorch / row.tsvision : row.tsvision / row.pytorch;
}

export function printHeader(): void {
  console.log(`${'workload'.padEnd(17)}${'case'.padEnd(16)}${'unit'.padEnd(10)}${'tsvision'.padStart(12)}${'pytorch'.padStart(12)}${'ratio'.padStart(8)}`);
}

export function printRow(row: Row): void {
  const r = ratio(row);
  const fmt = (v: number | null) => (v === null ? '-' : v.toFixed(1));
  console.log(
    `${row.workload.padEnd(17)}${row.case.padEnd(16)}${row.unit.padEnd(10)}${fmt(row.tsvision).padStart(12)}` +
      `${fmt(row.pytorch).padStart(12)}${(r === null ? '-' : `${r.toFixed(2)}x`).padStart(8)}`,
  );
  console.log(`JSON ${JSON.stringify({ ...row, ratio: r })}`);
}
