/**
 * Services and their deployments (ECS shapes). A service's tasks are the tasks
 * of group "service:NAME"; a task's deployment is its startedBy (as in ECS,
 * "ecs-svc/..."). Service events are rows of the events table with subject
 * "service:NAME", read newest first by (cluster, subject, id).
 */
export const services = `
CREATE TABLE services (
  cluster          text NOT NULL REFERENCES clusters (name),
  name             text NOT NULL,
  status           text NOT NULL DEFAULT 'ACTIVE',
  spec             jsonb NOT NULL,
  desired_count    integer NOT NULL,
  failures_since   timestamptz NOT NULL DEFAULT now(),
  steady           boolean NOT NULL DEFAULT false,
  version          bigint NOT NULL DEFAULT 1,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  deleted_at       timestamptz,
  PRIMARY KEY (cluster, name)
);
CREATE TABLE deployments (
  id                    text PRIMARY KEY,
  cluster               text NOT NULL,
  service               text NOT NULL,
  status                text NOT NULL,
  task_definition       text NOT NULL,
  desired_count         integer NOT NULL,
  rollout_state         text NOT NULL DEFAULT 'IN_PROGRESS',
  rollout_state_reason  text NOT NULL DEFAULT '',
  failed_tasks          integer NOT NULL DEFAULT 0,
  created_at            timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at            timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (cluster, service) REFERENCES services (cluster, name) ON DELETE CASCADE
);
CREATE INDEX deployments_service ON deployments (cluster, service, created_at);
CREATE INDEX events_cluster_subject ON events (cluster, subject, id);
`;
