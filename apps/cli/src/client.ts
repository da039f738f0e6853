import * as proto from '@berth/proto';
import { clientChannelOptions } from '@berth/transport';
import { credentials, type ServiceError } from '@grpc/grpc-js';

/** Deadline on every call: a CLI never hangs on a silent server. */
export const CALL_DEADLINE_MS = 10_000;

/** The control API as promises. Tests pass a fake with the methods they need. */
export interface Api {
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
  /** Streams events to `onEvent`; resolves when the server ends the stream (never, when following). */
  watchEvents(r: Partial<proto.WatchEventsRequest>, onEvent: (e: proto.Event) => void): Promise<void>;
  close(): void;
}

const METHODS = [
  'createCluster', 'listClusters', 'describeClusters',
  'registerTaskDefinition', 'describeTaskDefinition', 'listTaskDefinitions', 'deregisterTaskDefinition',
  'runTask', 'stopTask', 'describeTasks', 'listTasks',
  'listContainerInstances', 'describeContainerInstances', 'updateContainerInstancesState', 'deregisterContainerInstance',
  'putAttributes', 'deleteAttributes', 'deleteCluster', 'updateClusterSettings',
] as const;

type Unary = (req: unknown, opts: { deadline: Date }, cb: (err: ServiceError | null, res: unknown) => void) => void;

export function grpcApi(target: string): Api {
  const client = new proto.ControlServiceClient(target, credentials.createInsecure(), clientChannelOptions);
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
  return api as unknown as Api;
}
