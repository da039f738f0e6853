import { arns, resourceId, tagKeys } from '@berth/domain';
import { resourcesTags, type TaskRecord } from '@berth/store';
import type { AppContext } from '../../services/context.js';
import { describeTasksOp, listTasksOp, runTaskOp, startTaskOp, stopTaskOp, type FailureView } from '../../services/tasks.js';
import { clusterFor, ecsPageSize, type EcsHandlers } from '../ecs-call.js';
import { ecsError } from '../ecs-errors.js';
import { ecsTask } from '../ecs-views.js';
import { clusterName } from '../../services/clusters.js';

/** Tasks: RunTask, StartTask, StopTask, DescribeTasks (include TAGS), ListTasks. */
export const taskOps: EcsHandlers = {
  async RunTask(input, { ctx }) {
    if (input.count !== undefined && (input.count < 1 || input.count > 10)) throw ecsError('InvalidParameterException', `count: must be 1-10, got ${input.count}`);
    if (input.launchType && input.launchType !== 'EC2' && input.launchType !== 'EXTERNAL') {
      ctx.log.info({ launchType: input.launchType }, 'RunTask: launchType runs on Berth nodes (EC2-style)');
    }
    const r = await runTaskOp(ctx, {
      cluster: input.cluster,
      taskDefinition: input.taskDefinition,
      count: input.count,
      startedBy: input.startedBy,
      group: input.group,
      overrides: input.overrides as never,
      placementConstraints: input.placementConstraints as never,
      placementStrategy: input.placementStrategy as never,
      tags: input.tags,
      propagateTags: input.propagateTags,
    });
    return { tasks: await withTags(ctx, r.tasks, true), failures: r.failures.map((f) => failure(f)) };
  },

  async StartTask(input, { ctx }) {
    const r = await startTaskOp(ctx, {
      cluster: clusterFor(input.cluster, input.containerInstances),
      containerInstances: input.containerInstances,
      taskDefinition: input.taskDefinition,
      startedBy: input.startedBy,
      group: input.group,
      overrides: input.overrides as never,
      tags: input.tags,
      propagateTags: input.propagateTags,
    });
    return { tasks: await withTags(ctx, r.tasks, true), failures: r.failures.map((f) => failure(f, ctx, input.cluster)) };
  },

  async StopTask(input, { ctx }) {
    const t = await stopTaskOp(ctx, { cluster: clusterFor(input.cluster, [input.task]), task: input.task, reason: input.reason });
    return { task: ecsTask(ctx.arn, t) };
  },

  async DescribeTasks(input, { ctx }) {
    if ((input.tasks ?? []).length === 0) throw ecsError('InvalidParameterException', 'tasks: name at least one task (an id or a task ARN)');
    if (input.tasks.length > 100) throw ecsError('InvalidParameterException', `tasks: must name at most 100 tasks, got ${input.tasks.length}`);
    const cluster = clusterName(clusterFor(input.cluster, input.tasks));
    const r = await describeTasksOp(ctx, { cluster, tasks: input.tasks });
    return {
      tasks: await withTags(ctx, r.found, (input.include ?? []).includes('TAGS')),
      failures: r.missing.map((ref) => ({ arn: ref.startsWith('arn:') ? ref : arns.task(ctx.arn, cluster, resourceId(ref)), reason: 'MISSING' })),
    };
  },

  async ListTasks(input, { ctx }) {
    const maxResults = ecsPageSize(input.maxResults, { default: 100, max: 100 });
    const cluster = clusterName(clusterFor(input.cluster, [input.containerInstance]));
    // Every Berth task runs on a node agent: EC2 (and EXTERNAL) list them all, FARGATE none.
    if (input.launchType === 'FARGATE') return { taskArns: [] };
    const page = await listTasksOp(ctx, {
      cluster,
      containerInstance: input.containerInstance,
      family: input.family,
      startedBy: input.startedBy,
      serviceName: input.serviceName,
      // ECS lists tasks whose desired status is RUNNING unless told otherwise.
      desiredStatus: input.desiredStatus ?? 'RUNNING',
      nextToken: input.nextToken,
      maxResults,
    });
    return { taskArns: page.items.map((t) => arns.task(ctx.arn, cluster, t.id)), nextToken: page.nextToken };
  },
};

async function withTags(ctx: AppContext, tasks: TaskRecord[], include: boolean) {
  const tags = include ? await resourcesTags(ctx.db.sql, tasks.map((t) => tagKeys.task(t.cluster, t.id))) : new Map();
  return tasks.map((t) => ecsTask(ctx.arn, t, tags.get(tagKeys.task(t.cluster, t.id))));
}

function failure(f: FailureView, ctx?: AppContext, cluster?: string) {
  const arn = f.arn && ctx && !f.arn.startsWith('arn:') ? arns.containerInstance(ctx.arn, cluster || 'default', f.arn) : f.arn;
  return { arn, reason: f.reason, detail: f.detail };
}
