import { credentials, Metadata, type ChannelCredentials, type ChannelOptions } from '@grpc/grpc-js';

/**
 * Keepalive. An agent notices a half-open connection (a NAT or link that
 * silently drops) within 8 s and reconnects, before its node's default 10 s
 * grace runs out. The control plane notices a silent agent by its missed
 * heartbeats; its own pings are only a backstop.
 */
export const CLIENT_KEEPALIVE_TIME_MS = 4_000;
export const CLIENT_KEEPALIVE_TIMEOUT_MS = 4_000;
export const SERVER_KEEPALIVE_TIME_MS = 20_000;
export const SERVER_KEEPALIVE_TIMEOUT_MS = 10_000;
/** Clients may ping this often (grpc-js answers faster pings with GOAWAY too_many_pings). */
export const SERVER_MIN_PING_INTERVAL_MS = 2_000;
/** Largest message either side accepts (a desired state for a busy node fits easily). */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

export const clientChannelOptions: ChannelOptions = {
  'grpc.keepalive_time_ms': CLIENT_KEEPALIVE_TIME_MS,
  'grpc.keepalive_timeout_ms': CLIENT_KEEPALIVE_TIMEOUT_MS,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
  'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
  // Reconnects are paced by Berth's own backoff, not grpc's.
  'grpc.initial_reconnect_backoff_ms': 250,
  'grpc.max_reconnect_backoff_ms': 5_000,
};

export const serverChannelOptions: ChannelOptions = {
  'grpc.keepalive_time_ms': SERVER_KEEPALIVE_TIME_MS,
  'grpc.keepalive_timeout_ms': SERVER_KEEPALIVE_TIMEOUT_MS,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.http2.min_ping_interval_without_data_ms': SERVER_MIN_PING_INTERVAL_MS,
  'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
  'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
};

export const DEFAULT_GRPC_PORT = 7400;
export const DEFAULT_HTTP_PORT = 7401;

/** `host`, `host:port` or `:port` -> `host:port` with the default gRPC port. */
export function normalizeTarget(server: string): string {
  const s = server.trim().replace(/^grpc:\/\//, '').replace(/\/+$/, '');
  if (s === '') return `127.0.0.1:${DEFAULT_GRPC_PORT}`;
  if (s.startsWith(':')) return `127.0.0.1${s}`;
  if (s.startsWith('[')) return s.includes(']:') ? s : `${s}:${DEFAULT_GRPC_PORT}`;
  return s.includes(':') ? s : `${s}:${DEFAULT_GRPC_PORT}`;
}

/** How a client reaches the control plane: TLS trusting the cluster CA (and, for agents, their own certificate), or plaintext. */
export interface ClientTls {
  /** The cluster CA (PEM). Without it, the system's roots are trusted, which a Berth CA is not. */
  caPem?: string;
  /** Plaintext: only against a control plane started with --insecure. */
  insecure?: boolean;
  keyPem?: string;
  certPem?: string;
  /** An API token, sent as `authorization: Bearer ...` on every call (TLS only). */
  token?: string;
}

export function clientCredentials(t: ClientTls): ChannelCredentials {
  if (t.insecure) return credentials.createInsecure();
  const ssl = credentials.createSsl(t.caPem ? Buffer.from(t.caPem) : null, t.keyPem ? Buffer.from(t.keyPem) : null, t.certPem ? Buffer.from(t.certPem) : null);
  if (!t.token) return ssl;
  const bearer = `Bearer ${t.token}`;
  return credentials.combineChannelCredentials(
    ssl,
    credentials.createFromMetadataGenerator((_params, callback) => {
      const md = new Metadata();
      md.set('authorization', bearer);
      callback(null, md);
    }),
  );
}

/**
 * grpc-js passes an IP target (127.0.0.1:7400) as the TLS server name, which
 * Node answers with a deprecation warning (DEP0123) on stderr at every
 * connection; the certificate is still checked against the IP. Drops that one
 * warning (it would land in `berth logs` output), keeps every other.
 */
export function quietTlsServerNameWarning(): void {
  const emit = process.emitWarning.bind(process) as (...args: unknown[]) => void;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const code = typeof rest[0] === 'object' && rest[0] !== null ? (rest[0] as { code?: string }).code : rest[1];
    if (code === 'DEP0123') return;
    emit(warning, ...rest);
  }) as typeof process.emitWarning;
}
