/**
 * Events per second over a sliding window of whole seconds: the analyzer's ingest rate for
 * /metrics. Constant memory (one counter per second of the window).
 */
export class RateMeter {
  private readonly buckets: Float64Array;
  private second = -1;

  constructor(private readonly windowSeconds = 10, private readonly now: () => number = Date.now) {
    this.buckets = new Float64Array(windowSeconds);
  }

  add(n: number): void {
    this.advance();
    this.buckets[this.second % this.windowSeconds] += n;
  }

  /** Mean rate over the last `windowSeconds` complete seconds. */
  perSecond(): number {
    this.advance();
    let sum = 0;
    for (let i = 1; i <= this.windowSeconds; i++) {
      if (this.second - i < 0) break;
      sum += this.buckets[(this.second - i) % this.windowSeconds];
    }
    return sum / this.windowSeconds;
  }

  private advance(): void {
    const s = Math.floor(this.now() / 1000);
    if (this.second < 0) {
      this.second = s;
      return;
    }
    if (s <= this.second) return;
    const gap = Math.min(s - this.second, this.windowSeconds);
    for (let i = 1; i <= gap; i++) this.buckets[(this.second + i) % this.windowSeconds] = 0;
    this.second = s;
  }
}
