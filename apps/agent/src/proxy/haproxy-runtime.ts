import { createConnection } from 'node:net';
import { parseShowStat, type StatRow } from './haproxy-stat.js';

/** What HAProxy answers to a command that worked (most answer nothing). */
const SUCCESS = /^(New server registered\.|Server deleted\.|IP changed from|no need to change the addr|port changed from|no need to change the port)/;

/**
 * HAProxy's runtime API over its stats socket, one command per connection (non-interactive mode:
 * HAProxy answers and closes). See https://docs.haproxy.org/2.6/management.html#9.3
 */
export class HaproxyRuntime {
  constructor(
    readonly socketPath: string,
    private readonly timeoutMs = 5_000,
  ) {}

  /** The raw answer to one command. */
  send(command: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const sock = createConnection(this.socketPath);
      let out = '';
      const timer = setTimeout(() => sock.destroy(new Error(`HAProxy did not answer ${JSON.stringify(command)} within ${this.timeoutMs} ms`)), this.timeoutMs);
      sock.setEncoding('utf8');
      sock.on('connect', () => sock.write(`${command}\n`));
      sock.on('data', (d: string) => (out += d));
      sock.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      sock.on('close', () => {
        clearTimeout(timer);
        resolve(out);
      });
    });
  }

  /** A command that must succeed: HAProxy's answer, when it is not a success, is the error. */
  async run(command: string): Promise<void> {
    const answer = (await this.send(command)).trim();
    if (answer !== '' && !SUCCESS.test(answer)) throw new Error(`HAProxy refused "${command}": ${answer.split('\n')[0]}`);
  }

  async showStat(): Promise<StatRow[]> {
    return parseShowStat(await this.send('show stat'));
  }

  showServersState(backend?: string): Promise<string> {
    return this.send(backend ? `show servers state ${backend}` : 'show servers state');
  }

  /** `show info` as key/value pairs (Pid is the current worker's). */
  async info(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const line of (await this.send('show info')).split('\n')) {
      const i = line.indexOf(': ');
      if (i > 0) out[line.slice(0, i)] = line.slice(i + 2);
    }
    if (!out.Pid) throw new Error('HAProxy answered show info without a Pid');
    return out;
  }

  async workerPid(): Promise<number> {
    return Number((await this.info()).Pid);
  }

  addServer(id: string, address: string, params: string[]): Promise<void> {
    return this.run(`add server ${id} ${address} ${params.join(' ')}`);
  }

  enableHealth(id: string): Promise<void> {
    return this.run(`enable health ${id}`);
  }

  enableServer(id: string): Promise<void> {
    return this.run(`enable server ${id}`);
  }

  setWeight(id: string, weight: number): Promise<void> {
    return this.run(`set server ${id} weight ${weight}`);
  }

  setState(id: string, state: 'ready' | 'drain' | 'maint'): Promise<void> {
    return this.run(`set server ${id} state ${state}`);
  }

  shutdownSessions(id: string): Promise<void> {
    return this.run(`shutdown sessions server ${id}`);
  }

  /** The server must be in maintenance with no connections left. */
  delServer(id: string): Promise<void> {
    return this.run(`del server ${id}`);
  }
}
