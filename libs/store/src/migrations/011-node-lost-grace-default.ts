/**
 * A node is lost after 10 s out of contact (was 30 s), so a service's tasks are
 * running elsewhere within 15 s of a node going silent. Clusters still at the
 * old default (the `default` cluster of a new store among them) move to the new
 * one; any other value was chosen and is kept.
 */
export const nodeLostGraceDefault = `
ALTER TABLE clusters ALTER COLUMN node_lost_grace_seconds SET DEFAULT 10;
UPDATE clusters SET node_lost_grace_seconds = 10 WHERE node_lost_grace_seconds = 30;
`;
