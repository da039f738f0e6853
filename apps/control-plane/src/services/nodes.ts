import { conflict, INGRESS_ATTRIBUTE, invalid, newNodeId, notFound, resourceId, type FieldError, validationFailed } from '@berth/domain';
import {
  appendEvents,
  bumpGenerations,
  decodeToken,
  encodeToken,
  getCluster,
  getNode,
  listNodes,
  nodeAllocations,
  nodeTaskGroups,
  pageSize,
  setNodeDisconnected,
  setNodeStatus,
  updateNodeAttributes,
  upsertNode,
  type NodeAllocation,
  type NodeRegistration,
  type NodeRecord,
  type Page,
} from '@berth/store';
import { evaluateClusterQuery, parseClusterQuery, QueryParseError, type QueryExpr } from '@berth/scheduler';
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
  if (existing?.status === 'INACTIVE') {
    throw conflict(`node ${id} was deregistered; to join again as a new node, stop the agent and remove node-id and state.json from its data directory`);
  }
  // With its event, in one transaction: a connection lost in between leaves neither.
  const node = await ctx.db.sql.begin(async (tx) => {
    const n = await upsertNode(tx, { ...hello, id, cluster, sessionId });
    await appendEvents(tx, [{ cluster, kind: 'node.connected', subject: id, message: `node ${id} (${hello.facts.hostname}) connected, agent ${hello.agentVersion}` }]);
    return n;
  });
  // Daemon services gain a task here; waiting replicas may fit now.
  ctx.servicesChanged?.(cluster);
  return node;
}

/** `at`: the last contact with the agent (a silent agent's last heartbeat), default now. */
/** One transaction, so a try that failed (the database away) can be made again whole. */
export async function nodeDisconnectedOp(ctx: AppContext, node: NodeRecord, sessionId: string, reason: string, at: Date = ctx.clock.now()): Promise<void> {
  await ctx.db.sql.begin(async (tx) => {
    if (await setNodeDisconnected(tx, node.id, sessionId, at)) {
      await appendEvents(tx, [{ cluster: node.cluster, kind: 'node.disconnected', subject: node.id, message: `node ${node.id} disconnected: ${reason}` }]);
    }
  });
}

export interface ContainerInstanceView {
  node: NodeRecord;
  allocation: NodeAllocation;
}

const EMPTY: NodeAllocation = { cpu: 0, memory: 0, ports: [], running: 0, pending: 0 };

/**
 * ListContainerInstances. `filter` is ECS's cluster query language (as in
 * memberOf constraints): `attribute:ecs.cpu-architecture == arm64`,
 * `runningTasksCount == 0`, `task:group == service:web`, ...
 */
export async function listContainerInstancesOp(
  ctx: AppContext,
  input: { cluster?: string; status?: string; filter?: string; nextToken?: string; maxResults?: number },
): Promise<Page<NodeRecord>> {
  const cluster = await requireCluster(ctx, input.cluster);
  if (input.status && !['ACTIVE', 'DRAINING', 'INACTIVE', 'REGISTERING', 'DEREGISTERING', 'REGISTRATION_FAILED'].includes(input.status)) {
    throw invalid(`status: must be ACTIVE, DRAINING or INACTIVE, got ${JSON.stringify(input.status)}`);
  }
  let query: QueryExpr | undefined;
  if (input.filter) {
    try {
      query = parseClusterQuery(input.filter);
    } catch (err) {
      if (err instanceof QueryParseError) throw invalid(`filter: ${err.message}`);
      throw err;
    }
  }
  const limit = pageSize(input.maxResults);
  const after = decodeToken(input.nextToken) as [string] | undefined;
  if (after && !(after.length === 1 && typeof after[0] === 'string')) throw invalid('nextToken: not a token this list returned');
  if (query) {
    const nodes = await listNodes(ctx.db.sql, { cluster, status: input.status || undefined, afterId: after?.[0] });
    const [alloc, groups] = await Promise.all([nodeAllocations(ctx.db.sql, nodes.map((n) => n.id)), nodeTaskGroups(ctx.db.sql, cluster)]);
    const q = query;
    const matching = nodes.filter((n) =>
      evaluateClusterQuery(q, {
        instanceId: n.id,
        attributes: new Map(nodeAttributes(n).map((a) => [a.name, a.value])),
        taskGroups: new Set(groups.get(n.id)?.keys() ?? []),
        agentConnected: n.agentConnected,
        agentVersion: n.agentVersion,
        runningTasksCount: alloc.get(n.id)?.running ?? 0,
      }),
    );
    const items = matching.slice(0, limit);
    const last = items[items.length - 1];
    return { items, nextToken: matching.length > limit && last ? encodeToken([last.id]) : undefined };
  }
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

async function nodeInCluster(ctx: AppContext, cluster: string, ref: string): Promise<NodeRecord> {
  const n = await getNode(ctx.db.sql, resourceId(ref));
  if (!n || n.cluster !== cluster) throw notFound(`node ${resourceId(ref)} not found in cluster ${cluster}`).as('node-not-found');
  return n;
}

/** UpdateContainerInstancesState: DRAINING takes no new placements; ACTIVE undoes it. */
export async function updateContainerInstancesStateOp(
  ctx: AppContext,
  input: { cluster?: string; containerInstances: string[]; status: string },
): Promise<{ found: ContainerInstanceView[]; failures: { arn: string; reason: string; detail: string }[] }> {
  const cluster = await requireCluster(ctx, input.cluster);
  if (input.status !== 'ACTIVE' && input.status !== 'DRAINING') throw invalid(`status: must be ACTIVE or DRAINING, got ${JSON.stringify(input.status)}`);
  if (input.containerInstances.length === 0 || input.containerInstances.length > 10) throw invalid('containerInstances: must name 1-10 nodes');
  const failures: { arn: string; reason: string; detail: string }[] = [];
  const changed: string[] = [];
  for (const ref of input.containerInstances) {
    const n = await getNode(ctx.db.sql, resourceId(ref));
    if (!n || n.cluster !== cluster) failures.push({ arn: ref, reason: 'MISSING', detail: '' });
    else if (n.status === 'INACTIVE') failures.push({ arn: ref, reason: 'INACTIVE', detail: `node ${n.id} is deregistered` });
    else {
      if (n.status !== input.status) {
        await setNodeStatus(ctx.db.sql, n.id, input.status);
        await appendEvents(ctx.db.sql, [{ cluster, kind: 'node.status', subject: n.id, message: `node ${n.id} ${n.status} -> ${input.status}` }]);
        ctx.log.info({ nodeId: n.id, status: input.status }, 'node status changed');
      }
      changed.push(n.id);
    }
  }
  // Draining moves service tasks; activating gives them room.
  if (changed.length > 0) ctx.servicesChanged?.(cluster);
  const { found } = changed.length > 0 ? await describeContainerInstancesOp(ctx, { cluster, containerInstances: changed }) : { found: [] };
  return { found, failures };
}

/**
 * DeregisterContainerInstance: refused while the node has tasks that are not
 * STOPPED, unless forced (they are asked to stop). The node becomes INACTIVE and
 * its agent may not join again under the same identity.
 */
export async function deregisterContainerInstanceOp(ctx: AppContext, input: { cluster?: string; containerInstance: string; force?: boolean }): Promise<ContainerInstanceView> {
  const cluster = await requireCluster(ctx, input.cluster);
  const n = await nodeInCluster(ctx, cluster, input.containerInstance);
  const alloc = (await nodeAllocations(ctx.db.sql, [n.id])).get(n.id) ?? EMPTY;
  const active = alloc.running + alloc.pending;
  if (active > 0 && !input.force) throw conflict(`node ${n.id} has ${active} task(s) that are not STOPPED: stop them first, or force it (--force stops them)`);
  const now = ctx.clock.now();
  await ctx.db.sql.begin(async (tx) => {
    if (active > 0) {
      await tx`
        UPDATE tasks SET desired_status = 'STOPPED',
          stop_code = CASE WHEN stop_code = '' THEN 'UserInitiated' ELSE stop_code END,
          stopped_reason = CASE WHEN stopped_reason = '' THEN ${`Node ${n.id} deregistered`} ELSE stopped_reason END,
          stopping_at = coalesce(stopping_at, ${now}), version = version + 1, updated_at = now()
        WHERE node_id = ${n.id} AND last_status <> 'STOPPED' AND desired_status <> 'STOPPED'`;
      await bumpGenerations(tx, [n.id]);
    }
    await setNodeStatus(tx, n.id, 'INACTIVE');
    await appendEvents(tx, [{ cluster, kind: 'node.deregistered', subject: n.id, message: `node ${n.id} deregistered${active > 0 ? `; ${active} task(s) asked to stop` : ''}` }]);
  });
  ctx.nodesChanged([n.id]);
  ctx.servicesChanged?.(cluster);
  const { found } = await describeContainerInstancesOp(ctx, { cluster, containerInstances: [n.id] });
  return found[0]!;
}

export interface TargetAttribute {
  name: string;
  value: string;
  targetType: string;
  targetId: string;
}

const ATTRIBUTE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.@/:-]{0,127}$/;
const ATTRIBUTE_VALUE = /^[A-Za-z0-9_.@/:\- ]{0,128}$/;

function checkAttributes(attrs: TargetAttribute[], withValue: boolean): void {
  const errors: FieldError[] = [];
  if (attrs.length === 0 || attrs.length > 10) errors.push({ path: 'attributes', rule: 'must have 1-10 attributes', value: attrs.length });
  attrs.forEach((a, i) => {
    const at = `attributes[${i}]`;
    if (!ATTRIBUTE_NAME.test(a.name)) errors.push({ path: `${at}.name`, rule: 'must be 1-128 letters, digits and _.@/:-', value: a.name });
    // berth.ingress is the one an operator sets: the node serves load balancers placed by default.
    else if (/^(ecs|berth)\./.test(a.name) && a.name !== INGRESS_ATTRIBUTE) errors.push({ path: `${at}.name`, rule: `must not start with ecs. or berth. (built-in attributes; ${INGRESS_ATTRIBUTE} is the exception)`, value: a.name });
    if (withValue && !ATTRIBUTE_VALUE.test(a.value)) errors.push({ path: `${at}.value`, rule: 'must be up to 128 letters, digits, spaces and _.@/:-', value: a.value });
    if (a.targetType && a.targetType !== 'container-instance') errors.push({ path: `${at}.targetType`, rule: 'must be container-instance', value: a.targetType });
    if (!a.targetId) errors.push({ path: `${at}.targetId`, rule: 'is required (a node id or ARN)' });
  });
  if (errors.length > 0) throw validationFailed('invalid attributes', errors);
}

/** PutAttributes / DeleteAttributes on nodes; placement constraints read them beside the built-in ones. */
export async function changeAttributesOp(ctx: AppContext, input: { cluster?: string; attributes: TargetAttribute[] }, mode: 'put' | 'delete'): Promise<TargetAttribute[]> {
  const cluster = await requireCluster(ctx, input.cluster);
  checkAttributes(input.attributes, mode === 'put');
  const byNode = new Map<string, TargetAttribute[]>();
  for (const a of input.attributes) {
    const n = await nodeInCluster(ctx, cluster, a.targetId);
    byNode.set(n.id, [...(byNode.get(n.id) ?? []), a]);
  }
  await ctx.db.sql.begin(async (tx) => {
    for (const [id, attrs] of byNode) {
      if (mode === 'put') await updateNodeAttributes(tx, id, Object.fromEntries(attrs.map((a) => [a.name, a.value])), []);
      else await updateNodeAttributes(tx, id, {}, attrs.map((a) => a.name));
    }
  });
  // Constraints may match other nodes now (daemons follow).
  ctx.servicesChanged?.(cluster);
  return input.attributes.map((a) => ({ ...a, targetType: 'container-instance', targetId: resourceId(a.targetId) }));
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
  ].filter((a) => a.value !== '' && a.value !== undefined);
  // One value per name: an attribute put by an operator (PutAttributes) overrides the agent's label of the same name.
  const byName = new Map<string, string>(attrs.map((a) => [a.name, a.value]));
  for (const [name, value] of Object.entries(n.labels)) byName.set(name, value);
  for (const [name, value] of Object.entries(n.attributes ?? {})) byName.set(name, value);
  return [...byName].map(([name, value]) => ({ name, value }));
}
