/**
 * Placement: a task keeps the constraints and strategy it was run with (a
 * PROVISIONING task is placed later with them), and while PROVISIONING the
 * reason no node takes it. PROVISIONING tasks have no node; the placement
 * controller finds them per cluster, oldest first.
 */
export const placement = `
ALTER TABLE tasks ADD COLUMN placement jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE tasks ADD COLUMN placement_reason text NOT NULL DEFAULT '';
CREATE INDEX tasks_cluster_unplaced ON tasks (cluster, created_at, id) WHERE node_id IS NULL;
`;
