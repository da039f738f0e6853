import type { ArnContext, Clock, Random } from '@berth/domain';
import type { Database, TaskRecord } from '@berth/store';
import type { Logger } from 'pino';
import type { Keyring } from '../secrets/keyring.js';
import type { ClusterPki } from '../pki/cluster-pki.js';

/**
 * What every application service needs. The ways in (gRPC API, the ECS endpoint,
 * later the console) are thin adapters over these services.
 */
export interface AppContext {
  db: Database;
  arn: ArnContext;
  clock: Clock;
  random: Random;
  log: Logger;
  /** Tells the agent sessions that these nodes' desired sets changed. */
  nodesChanged(nodeIds: Iterable<string>): void;
  /** Seals and opens secrets (absent: secrets cannot be written or used). */
  keyring?: Keyring;
  /** The cluster PKI when TLS is on (joins are signed with it). */
  pki?: ClusterPki;
  /** Node certificate lifetime in days (default 365; fractions allowed). */
  nodeCertDays?: number;
  /** Ends a node's live session (a revoked node). */
  endSession?(nodeId: string, reason: string): void;
  /** Asks the service controller to look at these services of a cluster again (all of the cluster's when no names). */
  servicesChanged?(cluster: string, names?: string[]): void;
  /** Load balancers, target groups or their targets changed: the proxies get new snapshots. */
  trafficChanged?(): void;
  /** The traffic controller's answers for the hot paths (absent: no load balancing). */
  traffic?: TrafficHooks;
  /** An API credential was deleted: caches of it are dropped (the ECS endpoint's access keys). */
  credentialsChanged?(id: string): void;
}

/** What the agent sessions and the service controller ask the traffic controller. */
export interface TrafficHooks {
  /** A stopping task is held running while its targets drain. */
  stopHeld(t: Pick<TaskRecord, 'id' | 'cluster' | 'group' | 'desiredStatus' | 'lastStatus' | 'stoppingAt'>): boolean;
  /** A task's health as its targets report it (undefined: it has none). */
  targetHealth(taskId: string): 'HEALTHY' | 'UNHEALTHY' | 'UNKNOWN' | undefined;
  taskStatusChanged(): void;
  sessionStarted(nodeId: string): void;
}
