/**
 * Records ordered by their Last timestamp, oldest first, for eviction and retention.
 *
 * A binary min-heap with lazy deletion: an update pushes the record again with its new Last
 * instead of moving it, and a removal only marks the record. Nodes whose Last no longer matches
 * their record (or whose record is gone) are skipped when they reach the top. The heap is
 * rebuilt from the live records when stale nodes outnumber live ones, so it stays within
 * twice the store size (plus a constant).
 */

/** What the heap reads from a record. */
export interface HeapRecord {
  /** Current Last (ms); the heap orders by it, then by seq. */
  readonly last: number;
  readonly seq: number;
  /** False once removed from the store. */
  readonly live: boolean;
}

export class LastHeap<R extends HeapRecord> {
  /** Last of each node when it was pushed, parallel to `records`: a packed double array. */
  private keys: number[] = [];
  private records: R[] = [];

  get length(): number {
    return this.records.length;
  }

  push(record: R): void {
    this.keys.push(record.last);
    this.records.push(record);
    this.up(this.records.length - 1);
  }

  /** The live record with the oldest Last, or undefined when none is left. */
  peek(): R | undefined {
    this.dropStale();
    return this.records[0];
  }

  /** Removes and returns the live record with the oldest Last. */
  pop(): R | undefined {
    this.dropStale();
    if (this.records.length === 0) return undefined;
    const top = this.records[0];
    this.removeTop();
    return top;
  }

  /**
   * Rebuilds from `live` when the heap holds more than twice as many nodes: call after updates.
   * O(n) each time, so O(1) amortised per update.
   */
  compactIfNeeded(live: Iterable<R>, liveCount: number): void {
    if (this.records.length <= 2 * liveCount + 1024) return;
    this.keys = [];
    this.records = [];
    for (const r of live) {
      this.keys.push(r.last);
      this.records.push(r);
    }
    for (let i = (this.records.length >> 1) - 1; i >= 0; i--) this.down(i);
  }

  clear(): void {
    this.keys = [];
    this.records = [];
  }

  private dropStale(): void {
    while (this.records.length > 0) {
      const r = this.records[0];
      if (r.live && r.last === this.keys[0]) return;
      this.removeTop();
    }
  }

  private removeTop(): void {
    const lastKey = this.keys.pop() as number;
    const lastRecord = this.records.pop() as R;
    if (this.records.length === 0) return;
    this.keys[0] = lastKey;
    this.records[0] = lastRecord;
    this.down(0);
  }

  private less(i: number, j: number): boolean {
    const a = this.keys[i];
    const b = this.keys[j];
    return a < b || (a === b && this.records[i].seq < this.records[j].seq);
  }

  private swap(i: number, j: number): void {
    const k = this.keys[i];
    this.keys[i] = this.keys[j];
    this.keys[j] = k;
    const r = this.records[i];
    this.records[i] = this.records[j];
    this.records[j] = r;
  }

  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(i: number): void {
    const n = this.records.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) return;
      const r = l + 1;
      const child = r < n && this.less(r, l) ? r : l;
      if (!this.less(child, i)) return;
      this.swap(i, child);
      i = child;
    }
  }
}
