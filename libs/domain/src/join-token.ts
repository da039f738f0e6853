/**
 * Join tokens, as k3s and Swarm make them: the cluster CA's hash (so a joining
 * agent can verify the server before it sends anything), then an id and a
 * secret: `B10<sha256 of the CA, 64 hex>::<id, 16 hex>.<secret, 32 hex>`.
 */
export const JOIN_TOKEN_PREFIX = 'B10';

export interface JoinToken {
  caHash: string;
  id: string;
  secret: string;
}

export function formatJoinToken(t: JoinToken): string {
  return `${JOIN_TOKEN_PREFIX}${t.caHash}::${t.id}.${t.secret}`;
}

export function parseJoinToken(token: string): JoinToken | undefined {
  const m = /^B10([0-9a-f]{64})::([0-9a-f]{16})\.([0-9a-f]{32})$/.exec(token.trim());
  return m ? { caHash: m[1]!, id: m[2]!, secret: m[3]! } : undefined;
}
