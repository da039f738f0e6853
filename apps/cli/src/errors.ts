import { status } from '@grpc/grpc-js';

/** A usage problem: wrong command or flag (exit 2). */
export class UsageError extends Error {}

/** A failure to report as is (exit 1). */
export class CliError extends Error {}

/** Any error -> the text after "berth: ". */
export function describeError(err: unknown, server: string): { message: string; code: number } {
  if (err instanceof UsageError) return { message: `${err.message} (see berth --help)`, code: 2 };
  if (err instanceof CliError) return { message: err.message, code: 1 };
  const e = err as { code?: number; details?: string; message?: string };
  if (typeof e.code === 'number' && e.code in status) {
    switch (e.code) {
      case status.UNAVAILABLE:
        return {
          message: `cannot reach the control plane at ${server} (is it running? start it with npm start; if it runs, check TLS: give its CA with --ca DATA_DIR/pki/ca.crt or berth login, or --insecure for one started with --insecure)`,
          code: 1,
        };
      case status.DEADLINE_EXCEEDED:
        return { message: `the control plane at ${server} did not answer in time`, code: 1 };
      case status.UNAUTHENTICATED:
      case status.PERMISSION_DENIED:
      case status.RESOURCE_EXHAUSTED:
      case status.INVALID_ARGUMENT:
      case status.NOT_FOUND:
      case status.FAILED_PRECONDITION:
      case status.ALREADY_EXISTS:
        return { message: e.details ?? 'request refused', code: 1 };
      default:
        return { message: `${status[e.code]}: ${e.details ?? e.message ?? ''}`, code: 1 };
    }
  }
  return { message: e.message ?? String(err), code: 1 };
}
