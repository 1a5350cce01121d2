/**
 * Delivery accounting for agents that ask for it on /ws/agent/flow (a skydive-ts extension;
 * docs/compat.md#agent-analyzer-transport). Such an agent numbers its messages 1, 2, 3...
 * for the life of its process (its session) and says, when it connects, the number of the
 * first message it is about to send; the analyzer acknowledges the highest number it has
 * stored. After a reconnection the agent sends again what was not acknowledged, and the
 * analyzer skips what it had already stored: every flow once, none twice.
 *
 * Sessions are kept in least-recently-used order, at most `max` of them.
 */

export class AgentSessions {
  /** Per session: the highest message number taken for storing, and the highest stored. */
  private readonly last = new Map<string, { taken: number; stored: number }>();

  constructor(private readonly max = 4096) {}

  /** Highest message number stored for `session` (0: none): what is acknowledged. */
  lastSeq(session: string): number {
    return this.last.get(session)?.stored ?? 0;
  }

  /**
   * Highest message number taken for storing (0: none). Messages are stored a moment after
   * they are taken (ws-intake.ts); one sent again in between is a duplicate all the same.
   */
  lastTaken(session: string): number {
    return this.last.get(session)?.taken ?? 0;
  }

  /** Records that message `seq` of `session` is on its way to the store. */
  taken(session: string, seq: number): void {
    const s = this.touch(session);
    s.taken = Math.max(s.taken, seq);
  }

  /** Records that message `seq` of `session` was stored. */
  stored(session: string, seq: number): void {
    const s = this.touch(session);
    s.stored = Math.max(s.stored, seq);
    s.taken = Math.max(s.taken, seq);
  }

  /** The session's entry, made the most recently used one. */
  private touch(session: string): { taken: number; stored: number } {
    let s = this.last.get(session);
    this.last.delete(session);
    if (s === undefined) {
      if (this.last.size >= this.max) this.last.delete(this.last.keys().next().value as string);
      s = { taken: 0, stored: 0 };
    }
    this.last.set(session, s);
    return s;
  }
}
