/** ECS-style pagination: an opaque nextToken carrying the last key of the page. */
export const DEFAULT_MAX_RESULTS = 100;
export const MAX_MAX_RESULTS = 100;

export function encodeToken(key: unknown[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

/** Undefined when absent; throws a plain Error (mapped to INVALID_ARGUMENT) when malformed. */
export function decodeToken(token: string | undefined): unknown[] | undefined {
  if (!token) return undefined;
  try {
    const v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (Array.isArray(v)) return v;
  } catch {
    // fall through
  }
  throw new InvalidTokenError();
}

export class InvalidTokenError extends Error {
  constructor() {
    super('nextToken: is not a token this server issued');
    this.name = 'InvalidTokenError';
  }
}

export function pageSize(maxResults: number | undefined): number {
  if (!maxResults) return DEFAULT_MAX_RESULTS;
  return Math.min(Math.max(1, maxResults), MAX_MAX_RESULTS);
}

export interface Page<T> {
  items: T[];
  nextToken?: string;
}
