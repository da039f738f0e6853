import { execFile, spawn } from 'node:child_process';
import { accessSync, closeSync, constants, existsSync, openSync, readFileSync, renameSync, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

/** Where the HAProxy binary is: an absolute/relative path as given, else looked up on PATH. */
export function findHaproxy(bin: string, path = process.env.PATH ?? ''): string {
  const executable = (p: string) => {
    try {
      accessSync(p, constants.X_OK);
      return statSync(p).isFile();
    } catch {
      return false;
    }
  };
  if (bin.includes('/')) {
    if (executable(bin)) return isAbsolute(bin) ? bin : join(process.cwd(), bin);
  } else {
    for (const dir of [...path.split(delimiter), '/usr/sbin', '/usr/local/sbin']) if (dir && executable(join(dir, bin))) return join(dir, bin);
  }
  throw new Error(`HAProxy not found (--haproxy ${bin}${bin.includes('/') ? '' : ', looked on PATH and in /usr/sbin'}): the node's load balancers need it; install the Debian package haproxy (apt install haproxy) or give --haproxy PATH`);
}

/** HAProxy's own words from a log: its ALERT lines, without the prefix. */
export function alerts(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => l.includes('[ALERT]'))
    .map((l) => l.replace(/^\[ALERT\]\s*(\(\d+\)\s*)?:\s*/, '').trim())
    .filter((l) => l !== '' && !/^config\s*:\s*Fatal errors found/.test(l));
}

/** `haproxy -c`: undefined when valid, else HAProxy's reasons. */
export function checkConfig(bin: string, file: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(bin, ['-c', '-q', '-f', file], { timeout: 15_000 }, (err, stdout, stderr) => {
      if (!err) return resolve(undefined);
      const why = alerts(`${stdout}\n${stderr}`);
      resolve(why.length > 0 ? why.join('; ') : (stderr.trim() || err.message));
    });
  });
}

/**
 * Starts HAProxy in master-worker mode, detached (its own session: the agent's SIGTERM or Ctrl-C does not
 * reach it), its output appended to logFile. Returns the master's pid; it writes it to pidFile too.
 */
export function spawnHaproxy(bin: string, cfgFile: string, pidFile: string, logFile: string): { pid: number; exited: Promise<number | null> } {
  if (existsSync(logFile) && statSync(logFile).size > 1024 * 1024) renameSync(logFile, `${logFile}.1`);
  const fd = openSync(logFile, 'a', 0o600);
  try {
    const child = spawn(bin, ['-W', '-f', cfgFile, '-p', pidFile], { detached: true, stdio: ['ignore', fd, fd] });
    const exited = new Promise<number | null>((resolve) => {
      child.on('exit', (code) => resolve(code));
      child.on('error', () => resolve(null));
    });
    child.unref();
    if (child.pid === undefined) throw new Error(`could not start ${bin}`);
    return { pid: child.pid, exited };
  } finally {
    closeSync(fd);
  }
}

export function isAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether pid is an HAProxy using cfgFile (not another process that got the pid since). */
export function isOurHaproxy(pid: number, cfgFile: string): boolean {
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return cmd.some((a) => a.endsWith('haproxy')) && cmd.includes(cfgFile);
  } catch {
    return false;
  }
}

export function readPid(pidFile: string): number | undefined {
  try {
    const n = Number(readFileSync(pidFile, 'utf8').trim());
    return Number.isInteger(n) && n > 1 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** The log from a byte offset (what HAProxy said since then). */
export function readLogFrom(logFile: string, offset: number): string {
  try {
    const text = readFileSync(logFile);
    return text.subarray(Math.min(offset, text.length)).toString('utf8');
  } catch {
    return '';
  }
}

export function logSize(logFile: string): number {
  try {
    return statSync(logFile).size;
  } catch {
    return 0;
  }
}
