/**
 * The ECS endpoint: AWS access keys beside bearer tokens (kind 'aws'; the
 * secret is sealed with the secrets keyring, since SigV4 needs it to check a
 * signature, and a hash alone would not do), and tags on any resource, keyed
 * by the resource part of its ARN (`cluster/lab`, `task/lab/<id>`, ...) so a
 * changed region or account id keeps them.
 */
export const ecsApi = `
ALTER TABLE api_tokens ADD COLUMN kind text NOT NULL DEFAULT 'token';
ALTER TABLE api_tokens ADD COLUMN sealed_key_id text;
ALTER TABLE api_tokens ADD COLUMN sealed_nonce bytea;
ALTER TABLE api_tokens ADD COLUMN sealed_secret bytea;
CREATE TABLE resource_tags (
  resource    text NOT NULL,
  key         text NOT NULL,
  value       text NOT NULL DEFAULT '',
  PRIMARY KEY (resource, key)
);
`;
