import Module from 'node:module';

/**
 * dockerode loads two things the agent never uses, at 12 MB of a Pi's memory:
 * ssh2 (for ssh:// engine addresses) and its BuildKit session (a second gRPC
 * stack with a protobuf loader, for image builds). Before dockerode is loaded,
 * both are replaced by stand-ins that fail clearly if ever used. Import this
 * module before anything that imports dockerode.
 */
type Loader = (request: string, parent: { filename?: string } | undefined, isMain: boolean) => unknown;
const mod = Module as unknown as { _load: Loader };
const load = mod._load;

const refuse = (what: string) => () => {
  throw new Error(`${what} is not supported by the Berth agent`);
};

mod._load = function (request, parent, isMain) {
  if (request === 'ssh2') return { Client: refuse('an ssh:// Docker host') };
  if (request === './session' && parent?.filename?.includes('dockerode')) return refuse('building images (BuildKit sessions)');
  return load.call(this, request, parent, isMain);
};
