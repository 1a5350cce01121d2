/**
 * Records ordered by their Last timestamp, oldest first, for eviction and retention.
 *
 * A binary min-heap of record ids with lazy deletion: an update pushes the record again with
 * its new Last instead of moving it, and a removal leaves its nodes in place. A node remembers
 * the Last and the seq its record had when pushed; it is stale, and skipped when it reaches the
 * top, once the record with that id is gone, was replaced by another (ids are reused, seqs are
 * not) or has another Last. The heap is rebuilt from the live records when stale nodes
 * outnumber live ones, so it stays within twice the store size (plus a constant).
 *
 * Nodes are three plain number arrays, which V8 keeps unboxed: no object per node.
 */

/** What the heap reads from the store about a record id. */
export interface HeapRecords {
  /** Whether `id` holds a record with this seq now. */
  holds(id: number, seq: number): boolean;
  lastOf(id: number): number;
  seqOf(id: number): number;
}

export class LastHeap {
  private lasts: number[] = [];
  private ids: number[] = [];
  private seqs: number[] = [];

  constructor(private readonly records: HeapRecords) {}

  get length(): number {
    return this.ids.length;
  }

  push(id: number): void {
    this.lasts.push(this.records.lastOf(id));
    this.ids.push(id);
    this.seqs.push(this.records.seqOf(id));
    this.up(this.ids.length - 1);
  }

  /** The id of the live record with the oldest Last, or -1 when none is left. */
  peek(): number {
    this.dropStale();
    return this.ids.length === 0 ? -1 : this.ids[0];
  }

  /** Removes the top node (after `peek`). */
  pop(): void {
    this.dropStale();
    if (this.ids.length > 0) this.removeTop();
  }

  /**
   * Rebuilds from the live ids when the heap holds more than twice as many nodes: call after
   * updates. O(n) each time, so O(1) amortised per update.
   */
  compactIfNeeded(live: () => Iterable<number>, liveCount: number): void {
    if (this.ids.length <= 2 * liveCount + 1024) return;
    this.lasts = [];
    this.ids = [];
    this.seqs = [];
    for (const id of live()) {
      this.lasts.push(this.records.lastOf(id));
      this.ids.push(id);
      this.seqs.push(this.records.seqOf(id));
    }
    for (let i = (this.ids.length >> 1) - 1; i >= 0; i--) this.down(i);
  }

  clear(): void {
    this.lasts = [];
    this.ids = [];
    this.seqs = [];
  }

  private dropStale(): void {
    const r = this.records;
    while (this.ids.length > 0) {
      const id = this.ids[0];
      if (r.holds(id, this.seqs[0]) && r.lastOf(id) === this.lasts[0]) return;
      this.removeTop();
    }
  }

  private removeTop(): void {
    const last = this.lasts.pop() as number;
    const id = this.ids.pop() as number;
    const seq = this.seqs.pop() as number;
    if (this.ids.length === 0) return;
    this.lasts[0] = last;
    this.ids[0] = id;
    this.seqs[0] = seq;
    this.down(0);
  }

  private less(i: number, j: number): boolean {
    const a = this.lasts[i];
    const b = this.lasts[j];
    return a < b || (a === b && this.seqs[i] < this.seqs[j]);
  }

  private swap(i: number, j: number): void {
    const l = this.lasts[i]; this.lasts[i] = this.lasts[j]; this.lasts[j] = l;
    const d = this.ids[i]; this.ids[i] = this.ids[j]; this.ids[j] = d;
    const s = this.seqs[i]; this.seqs[i] = this.seqs[j]; this.seqs[j] = s;
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
    const n = this.ids.length;
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
