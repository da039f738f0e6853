import { initial } from './001-initial.js';
import { nodeLiveness } from './002-node-liveness.js';
import { nodeAttributes } from './003-node-attributes.js';
import { listIndexes } from './004-list-indexes.js';
import { placement } from './005-placement.js';
import { services } from './006-services.js';
import { secrets } from './007-secrets.js';
import { join } from './008-join.js';
import { apiTokens } from './009-api-tokens.js';
import { apiTokenScope } from './010-api-token-scope.js';
import { nodeLostGraceDefault } from './011-node-lost-grace-default.js';
import { ecsApi } from './012-ecs-api.js';
import { traffic } from './013-traffic.js';

/**
 * Forward-only, numbered migrations. Append new ones; never edit an applied one.
 * They live in code (not .sql files) so a bundled control plane carries them.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'initial', sql: initial },
  { version: 2, name: 'node-liveness', sql: nodeLiveness },
  { version: 3, name: 'node-attributes', sql: nodeAttributes },
  { version: 4, name: 'list-indexes', sql: listIndexes },
  { version: 5, name: 'placement', sql: placement },
  { version: 6, name: 'services', sql: services },
  { version: 7, name: 'secrets', sql: secrets },
  { version: 8, name: 'join', sql: join },
  { version: 9, name: 'api-tokens', sql: apiTokens },
  { version: 10, name: 'api-token-scope', sql: apiTokenScope },
  { version: 11, name: 'node-lost-grace-default', sql: nodeLostGraceDefault },
  { version: 12, name: 'ecs-api', sql: ecsApi },
  { version: 13, name: 'traffic', sql: traffic },
];
