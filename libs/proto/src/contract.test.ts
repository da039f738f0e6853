import { describe, expect, it } from 'vitest';
import { ConnectRequest, ConnectResponse, RunTaskRequest, isProtocolSupported, PROTOCOL_VERSION } from './index.js';

describe('contract', () => {
  it('round-trips an agent hello through the wire format', () => {
    const msg: ConnectRequest = {
      message: {
        $case: 'hello',
        value: {
          protocolVersion: PROTOCOL_VERSION,
          minProtocolVersion: 1,
          agentVersion: '0.1.0',
          nodeId: '',
          cluster: 'default',
          labels: { zone: 'attic' },
          inventory: [{ taskId: 't1', containerName: 'web', runtimeId: 'abc', state: 'running', exitCode: undefined }],
          appliedGeneration: 7,
          address: '127.0.0.2',
          facts: undefined,
        },
      },
    };
    const back = ConnectRequest.decode(ConnectRequest.encode(msg).finish());
    expect(back.message?.$case).toBe('hello');
    expect(back.message?.$case === 'hello' && back.message.value.labels).toEqual({ zone: 'attic' });
    expect(back.message?.$case === 'hello' && back.message.value.appliedGeneration).toBe(7);
  });

  it('keeps later fields of a desired state', () => {
    const msg: ConnectResponse = { message: { $case: 'desiredState', value: { generation: 3, tasks: [] } } };
    const back = ConnectResponse.decode(ConnectResponse.encode(msg).finish());
    expect(back).toEqual(msg);
  });

  it('uses ECS field names in the control API', () => {
    const json = RunTaskRequest.toJSON(RunTaskRequest.fromPartial({ taskDefinition: 'web:1', count: 2, startedBy: 'me' }));
    expect(json).toMatchObject({ taskDefinition: 'web:1', count: 2, startedBy: 'me' });
  });

  it('accepts only the protocol versions it speaks', () => {
    expect(isProtocolSupported(PROTOCOL_VERSION)).toBe(true);
    expect(isProtocolSupported(0)).toBe(false);
    expect(isProtocolSupported(PROTOCOL_VERSION + 1)).toBe(false);
  });
});
