/**
 * Differences from Skydive's golden output that docs/compat.md lists and
 * explains. Each entry names the golden file, the compat.md section (a test
 * checks it exists) and a pattern over the golden test's problem lines.
 */
export interface AllowedDifference {
  golden: string;
  compat: string;
  matches: RegExp;
}

export const ALLOWED_DIFFERENCES: AllowedDifference[] = [];
