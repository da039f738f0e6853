/** Attributes an operator puts on a node (ECS PutAttributes), beside the agent's labels. */
export const nodeAttributes = `
ALTER TABLE nodes ADD COLUMN attributes jsonb NOT NULL DEFAULT '{}';
`;
