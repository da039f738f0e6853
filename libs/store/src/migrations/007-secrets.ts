/**
 * Secrets (sealed: AES-256-GCM ciphertext, nonce and key id; never a plain
 * value, and no key) and roles (which secrets a task may read).
 */
export const secrets = `
CREATE TABLE secrets (
  name         text NOT NULL,
  version      integer NOT NULL,
  key_id       text NOT NULL,
  nonce        bytea NOT NULL,
  ciphertext   bytea NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (name, version)
);
CREATE TABLE roles (
  name        text PRIMARY KEY,
  secrets     text[] NOT NULL DEFAULT '{}',
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
`;
