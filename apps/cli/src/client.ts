import * as proto from '@berth/proto';
import { clientChannelOptions, clientCredentials, type ClientTls } from '@berth/transport';
import { status, type ServiceError } from '@grpc/grpc-js';
import { CliError } from './errors.js';

/** Deadline on every call: a CLI never hangs on a silent server. */
export const CALL_DEADLINE_MS = 10_000;

/** The control API as promises. Tests pass a fake with the methods they need. */
export interface Api {
  loadBalancing(r: Partial<proto.LoadBalancingRequest>): Promise<proto.LoadBalancingResponse>;
  createCluster(r: Partial<proto.CreateClusterRequest>): Promise<proto.CreateClusterResponse>;
  listClusters(r: Partial<proto.ListClustersRequest>): Promise<proto.ListClustersResponse>;
  describeClusters(r: Partial<proto.DescribeClustersRequest>): Promise<proto.DescribeClustersResponse>;
  registerTaskDefinition(r: Partial<proto.RegisterTaskDefinitionRequest>): Promise<proto.RegisterTaskDefinitionResponse>;
  describeTaskDefinition(r: Partial<proto.DescribeTaskDefinitionRequest>): Promise<proto.DescribeTaskDefinitionResponse>;
  listTaskDefinitions(r: Partial<proto.ListTaskDefinitionsRequest>): Promise<proto.ListTaskDefinitionsResponse>;
  deregisterTaskDefinition(r: Partial<proto.DeregisterTaskDefinitionRequest>): Promise<proto.DeregisterTaskDefinitionResponse>;
  runTask(r: Partial<proto.RunTaskRequest>): Promise<proto.RunTaskResponse>;
  stopTask(r: Partial<proto.StopTaskRequest>): Promise<proto.StopTaskResponse>;
  describeTasks(r: Partial<proto.DescribeTasksRequest>): Promise<proto.DescribeTasksResponse>;
  listTasks(r: Partial<proto.ListTasksRequest>): Promise<proto.ListTasksResponse>;
  listContainerInstances(r: Partial<proto.ListContainerInstancesRequest>): Promise<proto.ListContainerInstancesResponse>;
  describeContainerInstances(r: Partial<proto.DescribeContainerInstancesRequest>): Promise<proto.DescribeContainerInstancesResponse>;
  updateContainerInstancesState(r: Partial<proto.UpdateContainerInstancesStateRequest>): Promise<proto.UpdateContainerInstancesStateResponse>;
  deregisterContainerInstance(r: Partial<proto.DeregisterContainerInstanceRequest>): Promise<proto.DeregisterContainerInstanceResponse>;
  putAttributes(r: Partial<proto.PutAttributesRequest>): Promise<proto.PutAttributesResponse>;
  deleteAttributes(r: Partial<proto.DeleteAttributesRequest>): Promise<proto.DeleteAttributesResponse>;
  deleteCluster(r: Partial<proto.DeleteClusterRequest>): Promise<proto.DeleteClusterResponse>;
  updateClusterSettings(r: Partial<proto.UpdateClusterSettingsRequest>): Promise<proto.UpdateClusterSettingsResponse>;
  createService(r: Partial<proto.CreateServiceRequest>): Promise<proto.CreateServiceResponse>;
  updateService(r: Partial<proto.UpdateServiceRequest>): Promise<proto.UpdateServiceResponse>;
  deleteService(r: Partial<proto.DeleteServiceRequest>): Promise<proto.DeleteServiceResponse>;
  describeServices(r: Partial<proto.DescribeServicesRequest>): Promise<proto.DescribeServicesResponse>;
  listServices(r: Partial<proto.ListServicesRequest>): Promise<proto.ListServicesResponse>;
  putSecret(r: Partial<proto.PutSecretRequest>): Promise<proto.PutSecretResponse>;
  listSecrets(r: Partial<proto.ListSecretsRequest>): Promise<proto.ListSecretsResponse>;
  deleteSecret(r: Partial<proto.DeleteSecretRequest>): Promise<proto.DeleteSecretResponse>;
  putRole(r: Partial<proto.PutRoleRequest>): Promise<proto.PutRoleResponse>;
  listRoles(r: Partial<proto.ListRolesRequest>): Promise<proto.ListRolesResponse>;
  deleteRole(r: Partial<proto.DeleteRoleRequest>): Promise<proto.DeleteRoleResponse>;
  createJoinToken(r: Partial<proto.CreateJoinTokenRequest>): Promise<proto.CreateJoinTokenResponse>;
  listJoinTokens(r: Partial<proto.ListJoinTokensRequest>): Promise<proto.ListJoinTokensResponse>;
  deleteJoinToken(r: Partial<proto.DeleteJoinTokenRequest>): Promise<proto.DeleteJoinTokenResponse>;
  revokeNode(r: Partial<proto.RevokeNodeRequest>): Promise<proto.RevokeNodeResponse>;
  createApiToken(r: Partial<proto.CreateApiTokenRequest>): Promise<proto.CreateApiTokenResponse>;
  listApiTokens(r: Partial<proto.ListApiTokensRequest>): Promise<proto.ListApiTokensResponse>;
  deleteApiToken(r: Partial<proto.DeleteApiTokenRequest>): Promise<proto.DeleteApiTokenResponse>;
  /** Streams events to `onEvent`; resolves when the server ends the stream (never, when following). */
  watchEvents(r: Partial<proto.WatchEventsRequest>, onEvent: (e: proto.Event) => void): Promise<void>;
  /**
   * Streams a task container's logs to `onChunk` (a promise it returns pauses
   * the stream until it settles); resolves at the end of the logs, or when
   * `signal` aborts (following never ends by itself).
   */
  getTaskLogs(r: Partial<proto.GetTaskLogsRequest>, onChunk: (c: proto.GetTaskLogsResponse) => void | Promise<void>, signal?: AbortSignal): Promise<void>;
  close(): void;
}

const METHODS = [
  'createCluster', 'listClusters', 'describeClusters',
  'registerTaskDefinition', 'describeTaskDefinition', 'listTaskDefinitions', 'deregisterTaskDefinition',
  'runTask', 'stopTask', 'describeTasks', 'listTasks',
  'listContainerInstances', 'describeContainerInstances', 'updateContainerInstancesState', 'deregisterContainerInstance',
  'putAttributes', 'deleteAttributes', 'deleteCluster', 'updateClusterSettings',
  'createService', 'updateService', 'deleteService', 'describeServices', 'listServices',
  'putSecret', 'listSecrets', 'deleteSecret', 'putRole', 'listRoles', 'deleteRole',
  'createJoinToken', 'listJoinTokens', 'deleteJoinToken', 'revokeNode',
  'createApiToken', 'listApiTokens', 'deleteApiToken',
  'loadBalancing',
] as const;

type Unary = (req: unknown, opts: { deadline: Date }, cb: (err: ServiceError | null, res: unknown) => void) => void;

export function grpcApi(target: string, tls: ClientTls = {}): Api {
  const client = new proto.ControlServiceClient(target, clientCredentials(tls), clientChannelOptions);
  const raw = client as unknown as Record<string, Unary>;
  const api: Record<string, unknown> = { close: () => client.close() };
  for (const m of METHODS) {
    const type = (proto as unknown as Record<string, { fromPartial(o: unknown): unknown }>)[`${m[0]!.toUpperCase()}${m.slice(1)}Request`]!;
    api[m] = (req: unknown) =>
      new Promise((resolve, reject) =>
        raw[m]!.call(client, type.fromPartial(req ?? {}), { deadline: new Date(Date.now() + CALL_DEADLINE_MS) }, (err, res) => (err ? reject(err) : resolve(res))),
      );
  }
  api.watchEvents = (req: Partial<proto.WatchEventsRequest>, onEvent: (e: proto.Event) => void) =>
    new Promise<void>((resolve, reject) => {
      // A follower has no deadline; a one-shot read has the usual one.
      const opts = req.follow ? {} : { deadline: new Date(Date.now() + CALL_DEADLINE_MS) };
      const stream = client.watchEvents(proto.WatchEventsRequest.fromPartial(req), opts);
      stream.on('data', (m: proto.WatchEventsResponse) => m.event && onEvent(m.event));
      stream.on('error', reject);
      stream.on('end', () => resolve());
    });
  api.getTaskLogs = (req: Partial<proto.GetTaskLogsRequest>, onChunk: (c: proto.GetTaskLogsResponse) => void | Promise<void>, signal?: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return resolve();
      const stream = client.getTaskLogs(proto.GetTaskLogsRequest.fromPartial(req));
      // Response headers: the control plane took the request, so a later UNAVAILABLE is about the node, not it.
      let opened = false;
      let settled = false;
      let paused = false;
      // A one-shot read must not hang on a silent server: it fails after CALL_DEADLINE_MS without data
      // (not counting time paused for a slow reader such as a pager). A follower waits as long as it takes.
      let idle: NodeJS.Timeout | undefined;
      const armIdle = () => {
        clearTimeout(idle);
        if (req.follow || paused || settled) return;
        idle = setTimeout(() => {
          stream.cancel();
          finish(Object.assign(new Error('no logs arrived'), { code: status.DEADLINE_EXCEEDED, details: 'no logs arrived in time' }));
        }, CALL_DEADLINE_MS);
      };
      const finish = (err?: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(idle);
        signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve();
      };
      const onAbort = () => {
        stream.cancel();
        finish();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      armIdle();
      stream.on('metadata', () => {
        opened = true;
        armIdle();
      });
      stream.on('data', (c: proto.GetTaskLogsResponse) => {
        if (settled) return;
        armIdle();
        const wait = onChunk(c);
        if (!wait) return;
        paused = true;
        clearTimeout(idle);
        stream.pause();
        wait.then(
          () => {
            paused = false;
            stream.resume();
            armIdle();
          },
          (err) => {
            stream.cancel();
            finish(err);
          },
        );
      });
      stream.on('error', (err: ServiceError) => {
        if (signal?.aborted && err.code === status.CANCELLED) return finish();
        finish(opened && err.code === status.UNAVAILABLE && err.details ? new CliError(err.details) : err);
      });
      stream.on('end', () => finish());
    });
  return api as unknown as Api;
}
