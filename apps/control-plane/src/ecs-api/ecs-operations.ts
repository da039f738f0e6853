import type { EcsOperationName } from '@berth/ecs-model';
import type { EcsHandlers } from './ecs-call.js';
import { clusterOps } from './ops/cluster-ops.js';
import { containerInstanceOps } from './ops/container-instance-ops.js';
import { serviceOps } from './ops/service-ops.js';
import { tagOps } from './ops/tag-ops.js';
import { taskDefinitionOps } from './ops/task-definition-ops.js';
import { taskOps } from './ops/task-ops.js';

/** Every ECS operation Berth answers; the others answer UnsupportedFeatureException. */
export const ECS_HANDLERS: EcsHandlers = {
  ...clusterOps,
  ...taskDefinitionOps,
  ...taskOps,
  ...containerInstanceOps,
  ...serviceOps,
  ...tagOps,
};

/**
 * What a supported operation does not do as ECS does (docs/ecs-api.md shows
 * it). Fields outside the ECS model are ignored and named in the
 * `x-berth-ignored-fields` response header.
 */
export const ECS_PARTIAL: Partial<Record<EcsOperationName, string>> = {
  CreateCluster: 'capacity providers, service connect defaults and configuration are not applied; settings: containerInsights (no effect) and Berth\'s nodeLostGraceSeconds',
  UpdateCluster: 'settings only; configuration and serviceConnectDefaults are ignored',
  DescribeClusters: 'include ATTACHMENTS and CONFIGURATIONS add nothing (no capacity providers, no execute-command configuration)',
  RegisterTaskDefinition: 'AWS-only fields (requiresCompatibilities, runtimePlatform, proxyConfiguration, ...) are kept but not applied (named in the x-berth-ignored-fields header and the log)',
  RunTask: 'capacityProviderStrategy, networkConfiguration, enableExecuteCommand, clientToken and volumeConfigurations are ignored; a task no node can take yet waits in PROVISIONING (as with ECS capacity providers) instead of a failure',
  StartTask: 'networkConfiguration, enableExecuteCommand and volumeConfigurations are ignored',
  ListTasks: 'launchType FARGATE lists nothing (every Berth task runs on a node)',
  CreateService: 'load balancers, service registries, service connect, capacity providers and network configuration are kept but not applied; deploymentController ECS (rolling) only',
  UpdateService: 'as CreateService',
  ListServices: 'launchType FARGATE lists nothing',
  DescribeContainerInstances: 'include CONTAINER_INSTANCE_HEALTH adds nothing',
  ListServiceDeployments: 'service revisions are Berth deployments (one per task definition change)',
  DescribeServiceDeployments: 'lifecycle hooks and alarms are not reported; revision task counts are 0',
};
