import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { ProxySnapshot } from '@berth/proto';

/** Writes a file atomically: a temporary file, fsync, rename. */
export function writeAtomically(path: string, text: string, mode = 0o600): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w', mode);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/** The last applied proxy snapshot (DATA_DIR/proxy/snapshot.json), served again at the next start. */
export class SnapshotFile {
  constructor(readonly path: string) {}

  /** undefined when there is none; a corrupt one is reported through warn and treated as none. */
  load(warn: (message: string) => void): ProxySnapshot | undefined {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') warn(`cannot read ${this.path}: ${(err as Error).message}`);
      return undefined;
    }
    try {
      return ProxySnapshot.fromJSON(JSON.parse(text));
    } catch (err) {
      warn(`${this.path} is corrupt (${(err as Error).message}); the proxy starts without a snapshot`);
      return undefined;
    }
  }

  save(s: ProxySnapshot): void {
    writeAtomically(this.path, `${JSON.stringify(ProxySnapshot.toJSON(s), null, 1)}\n`);
  }
}
