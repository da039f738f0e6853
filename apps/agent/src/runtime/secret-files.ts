import { chmodSync, mkdirSync, readdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** statfs type of tmpfs. */
const TMPFS_MAGIC = 0x01021994;

/**
 * File secrets on the node: one directory per task under a tmpfs directory
 * (never on disk), mode 0700, files 0400, bind-mounted read-only into the
 * container at the path the task definition names. Removed with the task, and
 * at start for tasks the agent no longer has.
 */
export class SecretFiles {
  constructor(readonly dir: string) {}

  /** The default place: /run (a tmpfs on systemd hosts), else /dev/shm. */
  static defaultDir(): string {
    return isTmpfs('/run') ? '/run/berth/secrets' : '/dev/shm/berth-secrets';
  }

  /** Whether the directory (or its nearest existing parent) is on a tmpfs. */
  onTmpfs(): boolean {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    return isTmpfs(this.dir);
  }

  /** Writes a task's file secrets; returns Docker binds per container ("source:target:ro"). */
  write(taskId: string, files: { container: string; target: string; value: string }[]): Map<string, string[]> {
    const binds = new Map<string, string[]>();
    if (files.length === 0) return binds;
    const taskDir = join(this.dir, taskId);
    mkdirSync(taskDir, { recursive: true, mode: 0o700 });
    chmodSync(this.dir, 0o700);
    files.forEach((f, i) => {
      const source = join(taskDir, `${i}`);
      writeFileSync(source, f.value, { mode: 0o400 });
      chmodSync(source, 0o400);
      binds.set(f.container, [...(binds.get(f.container) ?? []), `${source}:${f.target}:ro`]);
    });
    return binds;
  }

  remove(taskId: string): void {
    if (!/^[0-9a-f]{32}$/.test(taskId)) return;
    rmSync(join(this.dir, taskId), { recursive: true, force: true });
  }

  /** Removes the files of every task not in `keep` (after a restart). */
  prune(keep: ReadonlySet<string>): number {
    let n = 0;
    let entries: string[] = [];
    try {
      entries = readdirSync(this.dir);
    } catch {
      return 0;
    }
    for (const e of entries) {
      if (/^[0-9a-f]{32}$/.test(e) && !keep.has(e)) {
        this.remove(e);
        n++;
      }
    }
    return n;
  }
}

function isTmpfs(path: string): boolean {
  try {
    return statfsSync(path).type === TMPFS_MAGIC;
  } catch {
    return false;
  }
}
