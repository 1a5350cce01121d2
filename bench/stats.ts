/**
 * Small statistics and timing helpers shared by the analyzer benches (query.ts, ingest.ts).
 */

/** Milliseconds since `t0` (from process.hrtime.bigint()). */
export function msSince(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** The p-quantile (0..1) of ascending `sorted`, nearest rank. */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

export function median(xs: readonly number[]): number {
  return percentile([...xs].sort((a, b) => a - b), 0.5);
}

/** A result file's date stamp: 2026-11-21T17:28:43.123Z -> 20261121T172843Z. */
export function fileStamp(isoDate: string): string {
  return isoDate.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}
