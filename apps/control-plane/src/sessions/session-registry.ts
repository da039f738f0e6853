import type { AgentSession } from './agent-session.js';

/** Live agent sessions by node id. Any control-plane replica can serve any node. */
export class SessionRegistry {
  private readonly sessions = new Map<string, AgentSession>();

  /** Registers a session; returns the one it replaces (same node, older stream), if any. */
  add(nodeId: string, session: AgentSession): AgentSession | undefined {
    const previous = this.sessions.get(nodeId);
    this.sessions.set(nodeId, session);
    return previous === session ? undefined : previous;
  }

  remove(nodeId: string, session: AgentSession): void {
    if (this.sessions.get(nodeId) === session) this.sessions.delete(nodeId);
  }

  get(nodeId: string): AgentSession | undefined {
    return this.sessions.get(nodeId);
  }

  /** Level-triggered: a node's desired set changed, so its session re-reads and sends it. */
  nodesChanged(nodeIds: Iterable<string>): void {
    for (const id of nodeIds) this.sessions.get(id)?.pushDesiredState();
  }

  /** Periodic full resync: every connected node gets its full manifest again. */
  resyncAll(): void {
    for (const s of this.sessions.values()) s.pushDesiredState();
  }

  all(): AgentSession[] {
    return [...this.sessions.values()];
  }

  get size(): number {
    return this.sessions.size;
  }

  async closeAll(reason: string): Promise<void> {
    await Promise.all([...this.sessions.values()].map((s) => s.close(reason)));
  }
}
