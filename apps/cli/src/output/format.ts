import type { NetworkBinding } from '@berth/proto';

/** Last segment of an ARN: the id users type. */
export function shortId(arn: string): string {
  return arn.split('/').pop() ?? arn;
}

/** family:revision from a task definition ARN. */
export function definitionName(arn: string): string {
  const m = /task-definition\/(.+)$/.exec(arn);
  return m ? m[1]! : arn;
}

export function ports(bindings: NetworkBinding[]): string {
  return bindings.map((b) => `${b.hostPort}->${b.containerPort}/${b.protocol || 'tcp'}`).join(',');
}

/** "5s", "3m", "2h", "4d" since `at`. */
export function age(at: Date | undefined, now = new Date()): string {
  if (!at) return '';
  const s = Math.max(0, Math.floor((now.getTime() - at.getTime()) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

export function when(at: Date | undefined): string {
  return at ? at.toISOString() : '';
}
