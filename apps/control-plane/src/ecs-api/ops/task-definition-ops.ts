import { tagKeys } from '@berth/domain';
import { resourceTags } from '@berth/store';
import {
  deleteTaskDefinitionsOp,
  deregisterTaskDefinitionOp,
  listTaskDefinitionFamiliesOp,
  listTaskDefinitionsOp,
  registerTaskDefinitionOp,
  resolveTaskDefinition,
} from '../../services/task-definitions.js';
import { arns } from '@berth/domain';
import { ecsPageSize, type EcsHandlers } from '../ecs-call.js';
import { ecsTaskDefinition } from '../ecs-views.js';

/** Task definitions: Register, Describe (include TAGS), Deregister, Delete, List, ListTaskDefinitionFamilies. */
export const taskDefinitionOps: EcsHandlers = {
  async RegisterTaskDefinition(input, call) {
    const { record, warnings } = await registerTaskDefinitionOp(call.ctx, JSON.stringify(input));
    if (warnings.length > 0) call.ctx.log.info({ family: record.family, revision: record.revision, warnings }, 'RegisterTaskDefinition: fields kept but not applied');
    return {
      taskDefinition: ecsTaskDefinition(call.ctx, record),
      tags: await resourceTags(call.ctx.db.sql, tagKeys.taskDefinition(record.family, record.revision)),
    };
  },

  async DescribeTaskDefinition(input, { ctx }) {
    const r = await resolveTaskDefinition(ctx, input.taskDefinition);
    const withTags = (input.include ?? []).includes('TAGS');
    return {
      taskDefinition: ecsTaskDefinition(ctx, r),
      ...(withTags ? { tags: await resourceTags(ctx.db.sql, tagKeys.taskDefinition(r.family, r.revision)) } : {}),
    };
  },

  async DeregisterTaskDefinition(input, { ctx }) {
    return { taskDefinition: ecsTaskDefinition(ctx, await deregisterTaskDefinitionOp(ctx, input.taskDefinition)) };
  },

  async DeleteTaskDefinitions(input, { ctx }) {
    const r = await deleteTaskDefinitionsOp(ctx, input.taskDefinitions);
    return { taskDefinitions: r.deleted.map((d) => ecsTaskDefinition(ctx, d)), failures: r.failures };
  },

  async ListTaskDefinitions(input, { ctx }) {
    const maxResults = ecsPageSize(input.maxResults, { default: 100, max: 100 });
    const page = await listTaskDefinitionsOp(ctx, { familyPrefix: input.familyPrefix, status: input.status, sort: input.sort, nextToken: input.nextToken, maxResults });
    return { taskDefinitionArns: page.items.map((r) => arns.taskDefinition(ctx.arn, r.family, r.revision)), nextToken: page.nextToken };
  },

  async ListTaskDefinitionFamilies(input, { ctx }) {
    const maxResults = ecsPageSize(input.maxResults, { default: 100, max: 100 });
    const page = await listTaskDefinitionFamiliesOp(ctx, { familyPrefix: input.familyPrefix, status: input.status, nextToken: input.nextToken, maxResults });
    return { families: page.items, nextToken: page.nextToken };
  },
};
