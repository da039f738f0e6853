/** The foundation schema: clusters, nodes, task definitions, tasks, events. */
export const initial = `
CREATE TABLE clusters (
  name        text PRIMARY KEY,
  status      text NOT NULL DEFAULT 'ACTIVE',
  created_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO clusters (name) VALUES ('default') ON CONFLICT DO NOTHING;

CREATE TABLE nodes (
  id                  text PRIMARY KEY,
  cluster             text NOT NULL REFERENCES clusters (name),
  hostname            text NOT NULL,
  status              text NOT NULL DEFAULT 'ACTIVE',
  agent_connected     boolean NOT NULL DEFAULT false,
  agent_version       text NOT NULL DEFAULT '',
  protocol_version    integer NOT NULL DEFAULT 0,
  facts               jsonb NOT NULL DEFAULT '{}',
  labels              jsonb NOT NULL DEFAULT '{}',
  registered_cpu      integer NOT NULL,
  registered_memory   integer NOT NULL,
  desired_generation  bigint NOT NULL DEFAULT 0,
  acked_generation    bigint NOT NULL DEFAULT 0,
  session_id          text,
  usage               jsonb NOT NULL DEFAULT '{}',
  last_heartbeat_at   timestamptz,
  registered_at       timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX nodes_cluster ON nodes (cluster);

CREATE TABLE task_definitions (
  family           text NOT NULL,
  revision         integer NOT NULL,
  status           text NOT NULL DEFAULT 'ACTIVE',
  spec             jsonb NOT NULL,
  registered_at    timestamptz NOT NULL DEFAULT now(),
  deregistered_at  timestamptz,
  PRIMARY KEY (family, revision)
);

CREATE TABLE tasks (
  id               text PRIMARY KEY,
  cluster          text NOT NULL REFERENCES clusters (name),
  family           text NOT NULL,
  revision         integer NOT NULL,
  node_id          text REFERENCES nodes (id),
  desired_status   text NOT NULL,
  last_status      text NOT NULL,
  spec             jsonb NOT NULL,
  overrides        jsonb NOT NULL DEFAULT '{}',
  cpu              integer NOT NULL,
  memory           integer NOT NULL,
  host_ports       text[] NOT NULL DEFAULT '{}',
  containers       jsonb NOT NULL DEFAULT '[]',
  started_by       text NOT NULL DEFAULT '',
  task_group       text NOT NULL DEFAULT '',
  stop_code        text NOT NULL DEFAULT '',
  stopped_reason   text NOT NULL DEFAULT '',
  version          bigint NOT NULL DEFAULT 1,
  created_at       timestamptz NOT NULL DEFAULT now(),
  pull_started_at  timestamptz,
  started_at       timestamptz,
  stopping_at      timestamptz,
  stopped_at       timestamptz,
  updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tasks_cluster_created ON tasks (cluster, created_at, id);
CREATE INDEX tasks_node_active ON tasks (node_id) WHERE last_status <> 'STOPPED';
CREATE INDEX tasks_cluster_family ON tasks (cluster, family);

CREATE TABLE events (
  id       bigserial PRIMARY KEY,
  at       timestamptz NOT NULL DEFAULT now(),
  cluster  text NOT NULL,
  kind     text NOT NULL,
  subject  text NOT NULL,
  message  text NOT NULL,
  data     jsonb NOT NULL DEFAULT '{}'
);
`;
