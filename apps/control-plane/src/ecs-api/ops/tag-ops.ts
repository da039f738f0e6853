import { listTagsForResourceOp, tagResourceOp, untagResourceOp } from '../../services/tags.js';
import type { EcsHandlers } from '../ecs-call.js';

/** Tags: TagResource, UntagResource, ListTagsForResource, on clusters, services, tasks, task definitions and container instances. */
export const tagOps: EcsHandlers = {
  async TagResource(input, { ctx }) {
    await tagResourceOp(ctx, { resourceArn: input.resourceArn, tags: input.tags });
    return {};
  },

  async UntagResource(input, { ctx }) {
    await untagResourceOp(ctx, { resourceArn: input.resourceArn, tagKeys: input.tagKeys });
    return {};
  },

  async ListTagsForResource(input, { ctx }) {
    return { tags: await listTagsForResourceOp(ctx, { resourceArn: input.resourceArn }) };
  },
};
