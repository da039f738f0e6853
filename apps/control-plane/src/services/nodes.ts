import { invalid, newNodeId, notFound, resourceId } from '@berth/domain';
import {
  appendEvents,
  decodeToken,
  encodeToken,
  getCluster,
  getNode,
  listNodes,
  nodeAllocations,
  pageSize,
  setNodeDisconnected,
  upsertNode,
  type NodeAllocation,
  type NodeRegistration,
  type NodeRecord,
  type Page,
} from '@berth/store';
import { clusterName, requireCluster } from './clusters.js';
import type { AppContext } from './context.js';

/** What an agent's hello says about its node; the id is empty the first time. */
export type NodeHello = Omit<NodeRegistration, 'id' | 'sessionId'> & { nodeId: string };

const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9_.\-/]{0,127}$/;

/** Registers (or re-registers) the node an agent speaks for. Its id is kept across reconnects. */
export async function registerNodeOp(ctx: AppContext, hello: NodeHello, sessionId: string): Promise<NodeRecord> {
  const cluster = clusterName(hello.cluster);
  if (!(await getCluster(ctx.db.sql, cluster))) {
    throw notFound(`cluster ${cluster} not found: create it first (berth cluster create ${cluster})`);
  }
  for (const [k, v] of Object.entries(hello.labels)) {
    if (!LABEL_KEY.test(k) || v.length > 256) throw invalid(`labels.${k}: a label key is letters, digits and ._-/ (up to 128), its value up to 256 characters`);
  }
  const id = hello.nodeId || newNodeId(ctx.random);
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw invalid(`nodeId: must be 1-64 letters, digits, hyphens or underscores, got ${JSON.stringify(id)}`);
  const existing = await getNode(ctx.db.sql, id);
  if (existing && existing.cluster !== cluster) {
    throw invalid(`nodeId: node ${id} belongs to cluster ${existing.cluster}, not ${cluster}`);
  }
  const node = await upsertNode(ctx.db.sql, { ...hello, id, cluster, sessionId });
  await appendEvents(ctx.db.sql, [{ cluster, kind: 'node.connected', subject: id, message: `node ${id} (${hello.facts.hostname}) connected, agent ${hello.agentVersion}` }]);
  return node;
}

export async function nodeDisconnectedOp(ctx: AppContext, node: NodeRecord, sessionId: string, reason: string): Promise<void> {
  if (await setNodeDisconnected(ctx.db.sql, node.id, sessionId, ctx.clock.now())) {
    await appendEvents(ctx.db.sql, [{ cluster: node.cluster, kind: 'node.disconnected', subject: node.id, message: `node ${node.id} disconnected: ${reason}` }]);
  }
}

export interface ContainerInstanceView {
  node: NodeRecord;
  allocation: NodeAllocation;
}

const EMPTY: NodeAllocation = { cpu: 0, memory: 0, ports: [], running: 0, pending: 0 };

export async function listContainerInstancesOp(
  ctx: AppContext,
  input: { cluster?: string; status?: string; nextToken?: string; maxResults?: number },
): Promise<Page<NodeRecord>> {
  const cluster = await requireCluster(ctx, input.cluster);
  if (input.status && !['ACTIVE', 'DRAINING', 'INACTIVE'].includes(input.status)) {
    throw invalid(`status: must be ACTIVE, DRAINING or INACTIVE, got ${JSON.stringify(input.status)}`);
  }
  const limit = pageSize(input.maxResults);
  const after = decodeToken(input.nextToken) as [string] | undefined;
  const items = await listNodes(ctx.db.sql, { cluster, status: input.status || undefined, afterId: after?.[0], limit });
  const last = items[items.length - 1];
  return { items, nextToken: items.length === limit && last ? encodeToken([last.id]) : undefined };
}

export async function describeContainerInstancesOp(
  ctx: AppContext,
  input: { cluster?: string; containerInstances: string[] },
): Promise<{ found: ContainerInstanceView[]; missing: string[] }> {
  const cluster = await requireCluster(ctx, input.cluster);
  if (input.containerInstances.length > 100) throw invalid('containerInstances: must name at most 100 nodes');
  let nodes: NodeRecord[];
  const missing: string[] = [];
  if (input.containerInstances.length === 0) {
    nodes = await listNodes(ctx.db.sql, { cluster });
  } else {
    nodes = [];
    for (const ref of input.containerInstances) {
      const n = await getNode(ctx.db.sql, resourceId(ref));
      if (n && n.cluster === cluster) nodes.push(n);
      else missing.push(ref);
    }
  }
  const alloc = await nodeAllocations(ctx.db.sql, nodes.map((n) => n.id));
  return { found: nodes.map((node) => ({ node, allocation: alloc.get(node.id) ?? EMPTY })), missing };
}

/** ECS attribute names for the built-in facts, beside Berth's own and the user's labels. */
export function nodeAttributes(n: NodeRecord): { name: string; value: string }[] {
  const ecsArch: Record<string, string> = { amd64: 'x86_64', arm64: 'arm64', arm: 'arm' };
  const attrs = [
    { name: 'ecs.cpu-architecture', value: ecsArch[n.facts.arch] ?? n.facts.arch },
    { name: 'ecs.os-type', value: n.facts.os || 'linux' },
    { name: 'berth.arch', value: n.facts.arch },
    { name: 'berth.hostname', value: n.hostname },
    { name: 'berth.os-version', value: n.facts.osVersion },
    { name: 'berth.kernel', value: n.facts.kernel },
    { name: 'berth.docker-version', value: n.facts.dockerVersion },
    ...Object.entries(n.labels).map(([name, value]) => ({ name, value })),
  ];
  return attrs.filter((a) => a.value !== '' && a.value !== undefined);
}
