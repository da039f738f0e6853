import type { ControlServiceClient } from '@berth/proto';
import type { ServiceError } from '@grpc/grpc-js';

/** A unary ControlService call by method name (`call('runTask', RunTaskRequest.fromPartial({...}))`), for tests and benchmarks driving a fleet. */
export function controlCall(control: ControlServiceClient) {
  return <Res>(method: string, req: unknown): Promise<Res> =>
    new Promise((resolve, reject) =>
      (control as unknown as Record<string, (r: unknown, cb: (e: ServiceError | null, r: Res) => void) => void>)[method]!(req, (err, res) => (err ? reject(err) : resolve(res))),
    );
}
