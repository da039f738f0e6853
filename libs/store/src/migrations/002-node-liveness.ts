/** Node liveness: when a node lost its agent, and each cluster's grace before its tasks count as lost. */
export const nodeLiveness = `
ALTER TABLE nodes ADD COLUMN disconnected_at timestamptz;
ALTER TABLE clusters ADD COLUMN node_lost_grace_seconds integer NOT NULL DEFAULT 30;
UPDATE nodes SET disconnected_at = now() WHERE NOT agent_connected;
`;
