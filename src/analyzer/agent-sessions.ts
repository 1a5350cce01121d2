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
  private readonly last = new Map<string, number>();

  constructor(private readonly max = 4096) {}

  /** Highest message number stored for `session` (0: none). */
  lastSeq(session: string): number {
    return this.last.get(session) ?? 0;
  }

  /** Records that message `seq` of `session` was stored. */
  stored(session: string, seq: number): void {
    this.last.delete(session);
    if (this.last.size >= this.max) this.last.delete(this.last.keys().next().value as string);
    this.last.set(session, seq);
  }
}
