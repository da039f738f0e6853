/** API tokens: bearer tokens with a role; only a hash of the secret is kept. */
export const apiTokens = `
CREATE TABLE api_tokens (
  id            text PRIMARY KEY,
  secret_hash   text NOT NULL,
  name          text NOT NULL,
  role          text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz,
  last_used_at  timestamptz
);
`;
