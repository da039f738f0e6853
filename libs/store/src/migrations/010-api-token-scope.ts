/** API tokens scoped to one cluster ('*': every cluster). */
export const apiTokenScope = `
ALTER TABLE api_tokens ADD COLUMN cluster text NOT NULL DEFAULT '*';
`;
