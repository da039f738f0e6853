import type { Server as HttpServer } from 'node:http';
import { DEFAULT_ARN_CONTEXT, systemClock, type ArnContext, type Clock, type Random } from '@berth/domain';
import { AgentServiceService, ConnectRequest, type GetCaRequest, type GetCaResponse, type JoinRequest, type JoinResponse, type ProtocolRange, type RenewCertificateRequest, type RenewCertificateResponse } from '@berth/proto';
import { countApiTokens, databaseUnavailableReason, disconnectAllNodes, migrate, openDatabase, pingDatabase, type Database, type EmbeddedStoreFiles } from '@berth/store';
import { serverChannelOptions } from '@berth/transport';
import { experimental, Server, ServerCredentials, status, type sendUnaryData, type ServerDuplexStream, type ServerUnaryCall } from '@grpc/grpc-js';
import type { CertificateProvider } from '@grpc/grpc-js/build/src/certificate-provider.js';
import type { Logger } from 'pino';
import { NodeLivenessController } from './controllers/node-liveness.js';
import { PlacementController, type PlacementSettings } from './controllers/placement-controller.js';
import { DEFAULT_EVENT_RETENTION_MS, DEFAULT_TASK_RETENTION_MS, Pruner } from './controllers/pruner.js';
import { ServiceController, type ServiceControllerSettings } from './controllers/service-controller.js';
import { TrafficController } from './controllers/traffic-controller.js';
import { loadKeyring, type Keyring } from './secrets/keyring.js';
import { defaultServerNames, loadOrCreatePki, type ClusterPki } from './pki/cluster-pki.js';
import { resealSecrets } from './services/secrets.js';
import { joinOp, renewCertificateOp } from './services/join.js';
import { toServiceError } from './grpc/errors.js';
import { controlService, guardedControlServiceDefinition, withAuth } from './grpc/control-service.js';
import { Authenticator } from './grpc/auth.js';
import { createApiTokenOp, resealAccessKeys } from './services/api-tokens.js';
import { startEcsApi, type EcsApi } from './ecs-api/ecs-server.js';
import type { WatchSettings } from './events/watch-events.js';
import { startHealthServer } from './http/health-server.js';
import { Metrics } from './metrics/metrics.js';
import type { AppContext } from './services/context.js';
import { AgentSession, type SessionSettings } from './sessions/agent-session.js';
import { SessionRegistry } from './sessions/session-registry.js';

/** GET /readyz: the database must answer within this. */
export const READY_DATABASE_TIMEOUT_MS = 2_000;

export interface ControlPlaneOptions {
  /** Address to listen on, e.g. 0.0.0.0 (all) or 127.0.0.1. */
  listen: string;
  grpcPort: number;
  httpPort: number;
  /**
   * The ECS endpoint's port (AWS JSON 1.1 + SigV4; 0: any free port).
   * Absent: no ECS endpoint (tests that do not need it); the product listens on 7402.
   */
  ecsPort?: number;
  /** Calls per second per AWS access key on the ECS endpoint (default 100). */
  ecsRateLimit?: number;
  databaseUrl?: string;
  dataDir: string;
  /** The embedded store's files when they are not beside its code (the single executable's assets). */
  embeddedStoreFiles?: EmbeddedStoreFiles;
  heartbeatIntervalMs: number;
  /** After this start, how long agents get to reconnect before any node's grace counts (default: their longest backoff). */
  reconnectAllowanceMs?: number;
  /** PROVISIONING tasks: how often they are tried again, and when they give up. */
  placement?: PlacementSettings;
  /**
   * TLS on the gRPC port with the cluster PKI (made at first start in
   * <dataDir>/pki). The product turns it off only with --insecure; tests of
   * the API logic run without it.
   */
  tls?: boolean;
  /** Names and addresses the server certificate covers besides the defaults (loopback, hostname, host addresses). */
  tlsNames?: string[];
  /**
   * API tokens required on the control API (default: when TLS is on; a token
   * over plaintext would be readable on the wire). With no token yet, an admin
   * token is made at start and handed to `onBootstrapToken` (once).
   */
  auth?: boolean;
  onBootstrapToken?: (token: string) => void;
  /** Node certificate lifetime in days (default 365; agents renew at two thirds). */
  nodeCertDays?: number;
  /** Failed authentications an address may make in a minute (default 10). */
  authFailureLimit?: number;
  /** Secrets keys: a key file, else BERTH_SECRETS_KEYS, else <dataDir>/secrets.key (made at first start). */
  secretsKeyFile?: string;
  secretsKeys?: string;
  /** Services: how often every service is looked at again. */
  services?: ServiceControllerSettings;
  /** Agent protocol versions served (default this release's; tests stand in for other releases with it). */
  protocol?: ProtocolRange;
  /** How often every connected node gets its full desired set again. */
  resyncIntervalMs: number;
  /** How long STOPPED tasks and events stay describable (defaults: 1 hour, 24 hours). */
  taskRetentionMs?: number;
  eventRetentionMs?: number;
  arn?: ArnContext;
  /** Event followers' polling (tests shorten it). */
  watch?: WatchSettings;
  clock?: Clock;
  random: Random;
  log: Logger;
}

export interface ControlPlane {
  grpcPort: number;
  httpPort: number;
  /** The ECS endpoint's port, when it is on. */
  ecsPort?: number;
  db: Database;
  sessions: SessionRegistry;
  liveness: NodeLivenessController;
  pruner: Pruner;
  placement: PlacementController;
  services: ServiceController;
  traffic: TrafficController;
  keyring: Keyring;
  /** The cluster PKI when TLS is on. */
  pki?: ClusterPki;
  /** The admin token made at this start, when the store had none (tests; main prints it once). */
  bootstrapToken?: string;
  close(): Promise<void>;
}

export async function startControlPlane(o: ControlPlaneOptions): Promise<ControlPlane> {
  const log = o.log;
  // First: a bad key configuration stops the start before anything is opened.
  const keyring = loadKeyring({ keyFile: o.secretsKeyFile, envKeys: o.secretsKeys, dataDir: o.dataDir, log });
  const db = await openDatabase({ url: o.databaseUrl, dataDir: o.dataDir, embeddedFiles: o.embeddedStoreFiles });
  log.info({ store: db.kind, location: db.location }, 'database opened');
  const migrated = await migrate(db.sql);
  log.info({ applied: migrated.applied, schemaVersion: migrated.current }, 'migrations applied');
  const clock = o.clock ?? systemClock;
  // No agent is connected to a control plane that just started; every node gets a fresh grace.
  await disconnectAllNodes(db.sql, clock.now());

  const pki = o.tls ? loadOrCreatePki({ dataDir: o.dataDir, keyring, names: [...defaultServerNames(o.listen), ...(o.tlsNames ?? [])], log }) : undefined;
  const sessions = new SessionRegistry();
  // Made below (it needs ctx); ctx's hook reaches it through this holder.
  const controllers: { placement?: PlacementController; services?: ServiceController; traffic?: TrafficController } = {};
  const ctx: AppContext = {
    db,
    arn: o.arn ?? DEFAULT_ARN_CONTEXT,
    clock,
    random: o.random,
    log,
    keyring,
    pki,
    nodeCertDays: o.nodeCertDays,
    endSession: (nodeId, reason) => void sessions.get(nodeId)?.fail(status.PERMISSION_DENIED, reason),
    nodesChanged: (ids) => {
      sessions.nodesChanged(ids);
      // A task asked to stop drains from its load balancers first.
      controllers.traffic?.taskStatusChanged();
      // Capacity may have appeared (a task stopped, a node came back): waiting tasks get a look.
      controllers.placement?.trigger();
    },
    credentialsChanged: (id) => ecs?.keys.forget(id),
    trafficChanged: () => controllers.traffic?.kick(),
    servicesChanged: (cluster, names) => {
      if (!controllers.services) return;
      if (names) for (const n of names) controllers.services.enqueue(cluster, n);
      else controllers.services.enqueueCluster(cluster);
    },
  };
  let ecs: EcsApi | undefined;
  const resealed = (await resealSecrets(ctx)) + (await resealAccessKeys(ctx));
  if (resealed > 0) log.info({ resealed, key: keyring.primaryId }, 'secrets sealed again with the first key (key rotation)');
  const metrics = new Metrics({ agentSessions: () => sessions.size, heldStatusReports: () => sessions.all().reduce((n, s) => n + s.heldStatusReports, 0) });
  metrics.start();
  const settings: SessionSettings = {
    heartbeatIntervalMs: o.heartbeatIntervalMs,
    usageWriteIntervalMs: Math.max(30_000, o.heartbeatIntervalMs),
    helloTimeoutMs: 15_000,
    requireAgentCert: pki !== undefined,
    protocol: o.protocol,
    metrics,
  };

  const shutdown = new AbortController();
  const server = new Server(serverChannelOptions);
  const auth = o.auth ?? pki !== undefined;
  let bootstrapToken: string | undefined;
  if (auth && (await countApiTokens(db.sql)) === 0) {
    bootstrapToken = (await createApiTokenOp(ctx, { name: 'bootstrap-admin', role: 'admin' })).token;
    o.onBootstrapToken?.(bootstrapToken);
  }
  const handlers = controlService(ctx, shutdown.signal, o.watch, sessions);
  server.addService(guardedControlServiceDefinition(), auth ? withAuth(handlers, new Authenticator(ctx, o.authFailureLimit), log) : handlers);
  server.addService(loggingDecoder(AgentServiceService, log), {
    connect: (call: ServerDuplexStream<ConnectRequest, never>) => new AgentSession(ctx, sessions, call as never, settings),
    getCa: (_call: ServerUnaryCall<GetCaRequest, GetCaResponse>, callback: sendUnaryData<GetCaResponse>) =>
      pki ? callback(null, { caPem: pki.ca.certPem }) : callback({ code: status.FAILED_PRECONDITION, details: 'this control plane runs without TLS (--insecure)' }),
    renewCertificate: (call: ServerUnaryCall<RenewCertificateRequest, RenewCertificateResponse>, callback: sendUnaryData<RenewCertificateResponse>) => {
      renewCertificateOp(ctx, call.getAuthContext?.().sslPeerCertificate?.serialNumber, call.request.csrPem).then(
        (r) => callback(null, r),
        (err) => callback(toServiceError(err, log, 'RenewCertificate')),
      );
    },
    join: (call: ServerUnaryCall<JoinRequest, JoinResponse>, callback: sendUnaryData<JoinResponse>) => {
      joinOp(ctx, call.request).then(
        (r) => callback(null, r),
        (err) => callback(toServiceError(err, log, 'Join')),
      );
    },
  });
  // Client certificates are asked for and checked against the CA, but not required: agents present
  // theirs (mTLS; the session requires it), the CLI and tools do not.
  const credentials = pki
    ? experimental.createCertificateProviderServerCredentials(
        staticCertificates({ certificate: Buffer.from(pki.server.certPem), privateKey: Buffer.from(pki.server.keyPem) }),
        staticCertificates(undefined, Buffer.from(pki.ca.certPem)),
        false,
      )
    : ServerCredentials.createInsecure();
  if (!pki) log.warn('gRPC without TLS (--insecure): anyone who can reach the port can read and change the cluster');
  const grpcPort = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${o.listen}:${o.grpcPort}`, credentials, (err, port) => (err ? reject(err) : resolve(port))),
  );

  let http: HttpServer;
  try {
    http = await startHealthServer(o.listen, o.httpPort, {
      caCertPem: pki?.ca.certPem,
      metrics: () => metrics.render(),
      ready: async () => {
        try {
          await pingDatabase(db.sql, READY_DATABASE_TIMEOUT_MS);
          return { ok: true, detail: { store: db.kind, agents: sessions.size } };
        } catch (err) {
          // Agents stay connected meanwhile (their reports are held); API writes answer UNAVAILABLE.
          const reason = databaseUnavailableReason(err) ?? (err as Error).message;
          return { ok: false, detail: { database: `unavailable: ${reason}`, agents: sessions.size } };
        }
      },
    });
  } catch (err) {
    server.forceShutdown();
    await db.close();
    throw err;
  }
  if (o.ecsPort !== undefined) {
    try {
      ecs = await startEcsApi(ctx, {
        listen: o.listen,
        port: o.ecsPort,
        tls: pki ? { certPem: pki.server.certPem, keyPem: pki.server.keyPem } : undefined,
        auth,
        rateLimitPerKey: o.ecsRateLimit,
        authFailureLimit: o.authFailureLimit,
      });
    } catch (err) {
      server.forceShutdown();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      await db.close();
      throw err;
    }
  }
  const httpAddr = http.address();
  const httpPort = typeof httpAddr === 'object' && httpAddr ? httpAddr.port : o.httpPort;
  const resync = setInterval(() => sessions.resyncAll(), o.resyncIntervalMs);
  resync.unref();
  const liveness = new NodeLivenessController(ctx, sessions, { heartbeatIntervalMs: o.heartbeatIntervalMs, startupAllowanceMs: o.reconnectAllowanceMs });
  liveness.start();
  const pruner = new Pruner(ctx, {
    taskRetentionMs: o.taskRetentionMs ?? DEFAULT_TASK_RETENTION_MS,
    eventRetentionMs: o.eventRetentionMs ?? DEFAULT_EVENT_RETENTION_MS,
  });
  pruner.start();
  const placement = new PlacementController(ctx, o.placement);
  controllers.placement = placement;
  placement.start();
  const services = new ServiceController(ctx, o.services);
  controllers.services = services;
  services.start();
  const traffic = new TrafficController(ctx, sessions);
  controllers.traffic = traffic;
  ctx.traffic = traffic;
  traffic.start();

  return {
    grpcPort,
    httpPort,
    ecsPort: ecs?.port,
    db,
    sessions,
    liveness,
    pruner,
    placement,
    services,
    traffic,
    keyring,
    pki,
    bootstrapToken,
    close: async () => {
      clearInterval(resync);
      services.stop();
      traffic.stop();
      metrics.stop();
      liveness.stop();
      pruner.stop();
      placement.stop();
      shutdown.abort();
      await sessions.closeAll('control plane shutting down');
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      await new Promise<void>((resolve) => http.close(() => resolve()));
      await ecs?.close();
      await db.close();
    },
  };
}

/**
 * The agent service with a request decoder that logs what it cannot parse.
 * grpc-js then ends only that stream (INTERNAL), and the reason is in our log.
 */
/** A certificate provider that always has the same certificates (the server's; the CA). */
function staticCertificates(identity?: { certificate: Buffer; privateKey: Buffer }, ca?: Buffer): CertificateProvider {
  // Answered on the next turn: grpc-js adds its watcher only after asking, and would miss a synchronous answer.
  return {
    addCaCertificateListener: (l) => void setImmediate(() => l(ca ? { caCertificate: ca } : null)),
    removeCaCertificateListener: () => {},
    addIdentityCertificateListener: (l) => void setImmediate(() => l(identity ?? null)),
    removeIdentityCertificateListener: () => {},
  };
}

function loggingDecoder(def: typeof AgentServiceService, log: Logger): typeof AgentServiceService {
  return {
    ...def,
    connect: {
      ...def.connect,
      requestDeserialize: (value: Buffer) => {
        try {
          return ConnectRequest.decode(value);
        } catch (err) {
          log.warn({ reason: (err as Error).message, bytes: value.length }, 'closing agent stream: message could not be parsed');
          throw err;
        }
      },
    },
  };
}
