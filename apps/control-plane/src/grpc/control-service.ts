import {
  ControlServiceService,
  type ControlServiceServer,
  type GetTaskLogsRequest,
  type GetTaskLogsResponse,
  type TaskOverride as ProtoTaskOverride,
  type WatchEventsRequest,
  type WatchEventsResponse,
} from '@berth/proto';
import type { TaskOverride } from '@berth/domain';
import { arns, invalid } from '@berth/domain';
import { Metadata, status, type handleUnaryCall, type sendUnaryData, type ServerUnaryCall, type ServerWritableStream, type UntypedHandleCall } from '@grpc/grpc-js';
import { watchEvents, type WatchSettings } from '../events/watch-events.js';
import { createClusterOp, deleteClusterOp, describeClustersOp, listClustersOp, updateClusterSettingsOp } from '../services/clusters.js';
import type { AppContext } from '../services/context.js';
import {
  changeAttributesOp,
  deregisterContainerInstanceOp,
  describeContainerInstancesOp,
  listContainerInstancesOp,
  updateContainerInstancesStateOp,
} from '../services/nodes.js';
import {
  deregisterTaskDefinitionOp,
  listTaskDefinitionsOp,
  registerTaskDefinitionOp,
  resolveTaskDefinition,
} from '../services/task-definitions.js';
import { createJoinTokenOp, deleteJoinTokenOp, listJoinTokensOp, revokeNodeOp } from '../services/join.js';
import type { ApiTokenRecord, JoinTokenRecord } from '@berth/store';
import type { Authenticator} from './auth.js';
import { isCaller } from './auth.js';
import { createApiTokenOp, deleteApiTokenOp, listApiTokensOp } from '../services/api-tokens.js';
import { deleteRoleOp, deleteSecretOp, listRolesOp, listSecretsOp, putRoleOp, putSecretOp } from '../services/secrets.js';
import { elbv2Call } from '../services/elbv2-operations.js';
import { createServiceOp, deleteServiceOp, describeServicesOp, listServicesOp, updateServiceOp } from '../services/services.js';
import { describeTasksOp, listTasksOp, runTaskOp, stopTaskOp } from '../services/tasks.js';
import { LogsBufferFull, streamTaskLogs, type LogsSession } from '../services/task-logs.js';
import { toServiceError } from './errors.js';
import { clusterView, containerInstanceView, eventView, failureView, missingFailure, taskDefinitionView, taskView } from './views.js';

/**
 * Largest control request accepted. ECS caps a task definition at 64 KiB; a
 * megabyte leaves room for any real request and refuses accidents (a log file
 * passed as a task definition) with a reason instead of a crash.
 */
export const MAX_CONTROL_REQUEST_BYTES = 1024 * 1024;

/** What the guarded decoder hands on instead of a request it refused. */
class RejectedRequest {
  constructor(readonly reason: string) {}
}

/**
 * The control service definition with decoders that never throw: grpc-js turns a
 * throwing decoder into INTERNAL with no reason, while an oversize or malformed
 * request is the caller's mistake (INVALID_ARGUMENT, saying why).
 */
export function guardedControlServiceDefinition(maxBytes = MAX_CONTROL_REQUEST_BYTES): typeof ControlServiceService {
  const guarded: Record<string, unknown> = {};
  for (const [name, def] of Object.entries(ControlServiceService)) {
    guarded[name] = {
      ...def,
      requestDeserialize: (value: Buffer) => {
        if (value.length > maxBytes) {
          return new RejectedRequest(`request is ${value.length} bytes; the control API accepts at most ${maxBytes} bytes per request`);
        }
        try {
          return (def.requestDeserialize as (b: Buffer) => unknown)(value);
        } catch (err) {
          return new RejectedRequest(`request could not be parsed as ${def.path.split('/').pop()}: ${(err as Error).message}`);
        }
      },
    };
  }
  return guarded as typeof ControlServiceService;
}

/**
 * The control API: a thin adapter. Each handler converts the request, calls one
 * application operation, and converts the result; no logic of its own.
 */
export function controlService(
  ctx: AppContext,
  shutdown: AbortSignal,
  watch?: WatchSettings,
  /** Live agent sessions by node id (GetTaskLogs asks the task's node); without it GetTaskLogs is UNIMPLEMENTED. */
  sessions?: { get(nodeId: string): LogsSession | undefined },
): ControlServiceServer {
  const unary =
    <Req, Res>(op: string, fn: (req: Req) => Promise<Res>): handleUnaryCall<Req, Res> =>
    (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
      const req = call.request as Req | RejectedRequest;
      if (req instanceof RejectedRequest) return callback(toServiceError(invalid(req.reason), ctx.log, op));
      fn(req).then(
        (res) => callback(null, res),
        (err) => callback(toServiceError(err, ctx.log, op)),
      );
    };
  const a = ctx.arn;

  const handlers: ControlServiceServer = {
    createCluster: unary('CreateCluster', async (req) => ({ cluster: clusterView(ctx, await createClusterOp(ctx, req.clusterName, req.settings)) })),
    updateClusterSettings: unary('UpdateClusterSettings', async (req) => ({
      cluster: clusterView(ctx, await updateClusterSettingsOp(ctx, req.cluster, req.settings)),
    })),
    listClusters: unary('ListClusters', async () => ({
      clusterArns: (await listClustersOp(ctx)).map((c) => arns.cluster(a, c.name)),
      nextToken: '',
    })),
    describeClusters: unary('DescribeClusters', async (req) => {
      const r = await describeClustersOp(ctx, req.clusters);
      return { clusters: r.found.map((c) => clusterView(ctx, c)), failures: r.missing.map(missingFailure) };
    }),
    deleteCluster: unary('DeleteCluster', async (req) => ({ cluster: clusterView(ctx, await deleteClusterOp(ctx, req.cluster)) })),

    registerTaskDefinition: unary('RegisterTaskDefinition', async (req) => {
      const r = await registerTaskDefinitionOp(ctx, req.taskDefinitionJson);
      return { taskDefinition: taskDefinitionView(ctx, r.record), warnings: r.warnings };
    }),
    describeTaskDefinition: unary('DescribeTaskDefinition', async (req) => ({
      taskDefinition: taskDefinitionView(ctx, await resolveTaskDefinition(ctx, req.taskDefinition)),
    })),
    listTaskDefinitions: unary('ListTaskDefinitions', async (req) => {
      const page = await listTaskDefinitionsOp(ctx, req);
      return { taskDefinitionArns: page.items.map((r) => arns.taskDefinition(a, r.family, r.revision)), nextToken: page.nextToken ?? '' };
    }),
    deregisterTaskDefinition: unary('DeregisterTaskDefinition', async (req) => ({
      taskDefinition: taskDefinitionView(ctx, await deregisterTaskDefinitionOp(ctx, req.taskDefinition)),
    })),

    runTask: unary('RunTask', async (req) => {
      const r = await runTaskOp(ctx, { ...req, overrides: toOverrides(req.overrides) });
      return { tasks: r.tasks.map((t) => taskView(a, t)), failures: r.failures.map(failureView) };
    }),
    stopTask: unary('StopTask', async (req) => ({ task: taskView(a, await stopTaskOp(ctx, req)) })),

    loadBalancing: unary('LoadBalancing', async (req) => {
      const r = await elbv2Call(ctx, req.operation, req.inputJson);
      return { outputJson: JSON.stringify(r.output), warnings: r.warnings };
    }),

    createService: unary('CreateService', async (req) => {
      const r = await createServiceOp(ctx, req.serviceJson);
      return { serviceJson: JSON.stringify(r.service), warnings: r.warnings };
    }),
    updateService: unary('UpdateService', async (req) => {
      const r = await updateServiceOp(ctx, req.updateJson);
      return { serviceJson: JSON.stringify(r.service), warnings: r.warnings };
    }),
    deleteService: unary('DeleteService', async (req) => ({ serviceJson: JSON.stringify(await deleteServiceOp(ctx, req)) })),
    describeServices: unary('DescribeServices', async (req) => {
      const r = await describeServicesOp(ctx, req);
      return { servicesJson: r.found.map((s) => JSON.stringify(s)), failures: r.missing.map(missingFailure) };
    }),
    listServices: unary('ListServices', async (req) => {
      const page = await listServicesOp(ctx, req);
      return { serviceArns: page.items, nextToken: page.nextToken ?? '' };
    }),

    putSecret: unary('PutSecret', async (req) => putSecretOp(ctx, { name: req.name, value: Buffer.from(req.value) })),
    listSecrets: unary('ListSecrets', async (req) => {
      const page = await listSecretsOp(ctx, req);
      return { secrets: page.items, nextToken: page.nextToken ?? '' };
    }),
    deleteSecret: unary('DeleteSecret', async (req) => deleteSecretOp(ctx, req.name)),
    putRole: unary('PutRole', async (req) => ({ role: await putRoleOp(ctx, req) })),
    listRoles: unary('ListRoles', async () => ({ roles: await listRolesOp(ctx) })),
    deleteRole: unary('DeleteRole', async (req) => {
      await deleteRoleOp(ctx, req.name);
      return {};
    }),

    createJoinToken: unary('CreateJoinToken', async (req) => {
      const r = await createJoinTokenOp(ctx, req);
      return { token: r.token, info: joinTokenView(r.record) };
    }),
    listJoinTokens: unary('ListJoinTokens', async () => ({ tokens: (await listJoinTokensOp(ctx)).map(joinTokenView) })),
    deleteJoinToken: unary('DeleteJoinToken', async (req) => {
      await deleteJoinTokenOp(ctx, req.id);
      return {};
    }),
    revokeNode: unary('RevokeNode', async (req) => ({ certificatesRevoked: await revokeNodeOp(ctx, req) })),

    createApiToken: unary('CreateApiToken', async (req) => {
      const r = await createApiTokenOp(ctx, req);
      return { token: r.token, info: apiTokenView(r.record), accessKeyId: r.accessKeyId ?? '', secretAccessKey: r.secretAccessKey ?? '' };
    }),
    listApiTokens: unary('ListApiTokens', async () => ({ tokens: (await listApiTokensOp(ctx)).map(apiTokenView) })),
    deleteApiToken: unary('DeleteApiToken', async (req) => {
      await deleteApiTokenOp(ctx, req.id);
      return {};
    }),
    describeTasks: unary('DescribeTasks', async (req) => {
      const r = await describeTasksOp(ctx, req);
      return { tasks: r.found.map((t) => taskView(a, t)), failures: r.missing.map(missingFailure) };
    }),
    listTasks: unary('ListTasks', async (req) => {
      const page = await listTasksOp(ctx, req);
      return { taskArns: page.items.map((t) => arns.task(a, t.cluster, t.id)), nextToken: page.nextToken ?? '' };
    }),

    listContainerInstances: unary('ListContainerInstances', async (req) => {
      const page = await listContainerInstancesOp(ctx, req);
      return {
        containerInstanceArns: page.items.map((n) => arns.containerInstance(a, n.cluster, n.id)),
        nextToken: page.nextToken ?? '',
      };
    }),
    describeContainerInstances: unary('DescribeContainerInstances', async (req) => {
      const r = await describeContainerInstancesOp(ctx, req);
      return { containerInstances: r.found.map((v) => containerInstanceView(a, v)), failures: r.missing.map(missingFailure) };
    }),
    updateContainerInstancesState: unary('UpdateContainerInstancesState', async (req) => {
      const r = await updateContainerInstancesStateOp(ctx, req);
      return { containerInstances: r.found.map((v) => containerInstanceView(a, v)), failures: r.failures };
    }),
    deregisterContainerInstance: unary('DeregisterContainerInstance', async (req) => ({
      containerInstance: containerInstanceView(a, await deregisterContainerInstanceOp(ctx, req)),
    })),
    putAttributes: unary('PutAttributes', async (req) => ({ attributes: await changeAttributesOp(ctx, req, 'put') })),
    deleteAttributes: unary('DeleteAttributes', async (req) => ({ attributes: await changeAttributesOp(ctx, req, 'delete') })),

    watchEvents: (call: ServerWritableStream<WatchEventsRequest, WatchEventsResponse>) => {
      const req = call.request as WatchEventsRequest | RejectedRequest;
      if (req instanceof RejectedRequest) return call.emit('error', toServiceError(invalid(req.reason), ctx.log, 'WatchEvents'));
      const stop = new AbortController();
      const abort = () => stop.abort();
      call.on('cancelled', abort);
      call.on('close', abort);
      shutdown.addEventListener('abort', abort, { once: true });
      const send = (e: Parameters<typeof eventView>[0]) =>
        new Promise<void>((resolve) => {
          if (call.write({ event: eventView(e) })) resolve();
          else call.once('drain', () => resolve());
        });
      watchEvents(ctx, { cluster: req.cluster, afterId: req.afterId, last: req.last, follow: req.follow }, send, stop.signal, watch).then(
        () => {
          shutdown.removeEventListener('abort', abort);
          if (!call.cancelled) call.end();
        },
        (err) => {
          shutdown.removeEventListener('abort', abort);
          if (!call.cancelled) call.emit('error', toServiceError(err, ctx.log, 'WatchEvents'));
        },
      );
    },

    getTaskLogs: (call: ServerWritableStream<GetTaskLogsRequest, GetTaskLogsResponse>) => {
      const req = call.request as GetTaskLogsRequest | RejectedRequest;
      if (req instanceof RejectedRequest) return call.emit('error', toServiceError(invalid(req.reason), ctx.log, 'GetTaskLogs'));
      if (!sessions) return call.emit('error', { code: status.UNIMPLEMENTED, details: 'this control plane does not serve logs' });
      const stop = new AbortController();
      const abort = () => stop.abort();
      call.on('cancelled', abort);
      call.on('close', abort);
      shutdown.addEventListener('abort', abort, { once: true });
      const out = {
        write: (r: GetTaskLogsResponse) => call.write(r),
        onDrain: (fn: () => void) => void call.once('drain', fn),
        // Headers now: the caller knows the request was accepted, so a later UNAVAILABLE is about the node, not this server.
        opened: () => call.sendMetadata(new Metadata()),
      };
      const input = {
        cluster: req.cluster,
        task: req.task,
        containerName: req.containerName,
        tail: req.tail,
        since: req.since,
        follow: req.follow,
        timestamps: req.timestamps,
      };
      streamTaskLogs(ctx, sessions, input, out, stop.signal).then(
        () => {
          shutdown.removeEventListener('abort', abort);
          if (call.cancelled) return;
          if (shutdown.aborted) call.emit('error', { code: status.UNAVAILABLE, details: 'the control plane is shutting down; the log stream ended' });
          else call.end();
        },
        (err) => {
          shutdown.removeEventListener('abort', abort);
          if (call.cancelled) return;
          call.emit('error', err instanceof LogsBufferFull ? { code: status.RESOURCE_EXHAUSTED, details: err.message } : toServiceError(err, ctx.log, 'GetTaskLogs'));
        },
      );
    },
  };
  return handlers as ControlServiceServer & Record<string, UntypedHandleCall>;
}

function toOverrides(o: ProtoTaskOverride | undefined): TaskOverride | undefined {
  if (!o) return undefined;
  return {
    cpu: o.cpu || undefined,
    memory: o.memory || undefined,
    containerOverrides: o.containerOverrides.map((c) => ({
      name: c.name,
      command: c.command.length > 0 ? c.command : undefined,
      environment: c.environment.length > 0 ? c.environment : undefined,
      cpu: c.cpu,
      memory: c.memory,
      memoryReservation: c.memoryReservation,
    })),
  };
}

function joinTokenView(t: JoinTokenRecord) {
  return { id: t.id, cluster: t.cluster, usesLeft: t.usesLeft ?? 0, unlimited: t.usesLeft === null, expiresAt: t.expiresAt, labels: t.labels };
}

function apiTokenView(t: ApiTokenRecord) {
  return { id: t.id, kind: t.kind, name: t.name, role: t.role, cluster: t.cluster, createdAt: t.createdAt, expiresAt: t.expiresAt ?? undefined, lastUsedAt: t.lastUsedAt ?? undefined };
}

/**
 * Every control operation behind the API token check: the caller's token and
 * role are checked before the handler runs (a denial is logged and answered).
 */
export function withAuth(handlers: ControlServiceServer, auth: Authenticator, log: AppContext['log']): ControlServiceServer {
  const out: Record<string, unknown> = {};
  for (const [name, handler] of Object.entries(handlers) as [string, (...args: unknown[]) => unknown][]) {
    const rpc = `${name[0]!.toUpperCase()}${name.slice(1)}`;
    // LoadBalancing carries one ELBv2 operation: its role is that operation's.
    const opOf = (request: unknown) => (name === 'loadBalancing' ? `elbv2:${(request as { operation?: string })?.operation ?? ''}` : rpc);
    const op = rpc;
    const def = (ControlServiceService as unknown as Record<string, { responseStream: boolean }>)[name]!;
    if (def.responseStream) {
      out[name] = (call: ServerWritableStream<unknown, unknown>) => {
        auth.check(call.metadata, call.getPeer(), op, call.request).then(
          (who) => (isCaller(who) ? handler(call) : call.emit('error', who)),
          (err) => call.emit('error', toServiceError(err, log, op)),
        );
      };
    } else {
      out[name] = (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
        auth.check(call.metadata, call.getPeer(), opOf(call.request), call.request).then(
          (who) => (isCaller(who) ? handler(call, callback) : callback(who)),
          (err) => callback(toServiceError(err, log, op)),
        );
      };
    }
  }
  return out as unknown as ControlServiceServer;
}
