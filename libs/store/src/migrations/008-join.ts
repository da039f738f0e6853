/**
 * Joining: tokens an operator makes (only a hash of the secret is kept), and
 * the certificates issued to nodes (revoked ones refused at connect).
 */
export const join = `
CREATE TABLE join_tokens (
  id           text PRIMARY KEY,
  secret_hash  text NOT NULL,
  cluster      text NOT NULL REFERENCES clusters (name),
  uses_left    integer,
  labels       jsonb NOT NULL DEFAULT '{}',
  expires_at   timestamptz NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE node_certificates (
  serial      text PRIMARY KEY,
  node_id     text NOT NULL,
  cluster     text NOT NULL,
  labels      jsonb NOT NULL DEFAULT '{}',
  not_after   timestamptz NOT NULL,
  revoked_at  timestamptz,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX node_certificates_node ON node_certificates (node_id);
`;
