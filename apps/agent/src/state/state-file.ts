import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DesiredTask, TaskStatus } from '@berth/proto';

/**
 * What the agent keeps across its own restarts (and reboots): its node
 * identity, the last desired set it acknowledged, and the tasks it finished
 * (so they are never started again and their final status can be re-sent).
 * Written only when it changes (flash wear), atomically (tmp + fsync + rename).
 */
export interface AgentState {
  nodeId: string;
  generation: number;
  tasks: DesiredTask[];
  finished: Record<string, TaskStatus>;
}

export const EMPTY_STATE: AgentState = { nodeId: '', generation: 0, tasks: [], finished: {} };

export class StateFile {
  readonly path: string;
  /** The node id also lives alone in its own file, so a corrupt state file does not lose the identity. */
  private readonly idPath: string;
  private last = '';

  constructor(dataDir: string) {
    this.path = join(dataDir, 'state.json');
    this.idPath = join(dataDir, 'node-id');
  }

  private savedNodeId(): string {
    try {
      const id = readFileSync(this.idPath, 'utf8').trim();
      return /^[A-Za-z0-9_-]{1,64}$/.test(id) ? id : '';
    } catch {
      return '';
    }
  }

  /** The saved state; a missing or corrupt file gives an empty state and a warning. */
  load(warn: (message: string) => void): AgentState {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') warn(`cannot read ${this.path}: ${(err as Error).message}; starting empty`);
      return { ...structuredClone(EMPTY_STATE), nodeId: this.savedNodeId() };
    }
    try {
      const raw = JSON.parse(text);
      const state: AgentState = {
        nodeId: typeof raw.nodeId === 'string' ? raw.nodeId : '',
        generation: Number.isSafeInteger(raw.generation) ? raw.generation : 0,
        tasks: Array.isArray(raw.tasks) ? raw.tasks.map((t: unknown) => DesiredTask.fromJSON(t)) : [],
        finished: Object.fromEntries(Object.entries(raw.finished ?? {}).map(([k, v]) => [k, TaskStatus.fromJSON(v)])),
      };
      this.last = serialize(state);
      return state;
    } catch (err) {
      warn(`${this.path} is corrupt (${(err as Error).message}); starting empty, containers will be adopted by label`);
      return { ...structuredClone(EMPTY_STATE), nodeId: this.savedNodeId() };
    }
  }

  /** Persists the state if it changed. Returns whether it wrote. */
  save(state: AgentState): boolean {
    const text = serialize(state);
    if (text === this.last) return false;
    mkdirSync(dirname(this.path), { recursive: true });
    if (state.nodeId && state.nodeId !== this.savedNodeId()) writeAtomically(this.idPath, `${state.nodeId}\n`);
    writeAtomically(this.path, text);
    this.last = text;
    return true;
  }
}

function writeAtomically(path: string, text: string): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

function serialize(s: AgentState): string {
  return JSON.stringify(
    {
      nodeId: s.nodeId,
      generation: s.generation,
      // Secret values are used to start a task and never written down.
      tasks: s.tasks.map((t) => DesiredTask.toJSON({ ...t, secrets: [], secretsError: '' })),
      finished: Object.fromEntries(Object.entries(s.finished).map(([k, v]) => [k, TaskStatus.toJSON(v)])),
    },
    null,
    1,
  );
}
