// Stands in, in the agent's bundle, for dependencies of dockerode the agent never
// uses: ssh2 (ssh:// engine addresses) and @grpc/proto-loader (BuildKit sessions).
'use strict';
function unsupported(what) {
  return function () {
    throw new Error(`${what} is not supported by the Berth agent`);
  };
}
module.exports = { Client: unsupported('an ssh:// Docker host'), loadSync: unsupported('building images (BuildKit sessions)') };
