/**
 * Traffic: ELBv2 load balancers, listeners, rules and target groups; targets registered by hand
 * (a service's tasks are targets by derivation, never rows here); target health as each ingress node's
 * HAProxy reports it; the node's own address (for targets on it) and the proxy snapshot version it acked.
 * Ids are the last part of ELB's ARNs (`app/<name>/<id>` keeps only `<id>`).
 */
export const traffic = `
CREATE TABLE load_balancers (
  id           text PRIMARY KEY,
  name         text NOT NULL UNIQUE,
  type         text NOT NULL,
  scheme       text NOT NULL DEFAULT 'internet-facing',
  ip_address_type text NOT NULL DEFAULT 'ipv4',
  -- Which nodes serve it: {"nodes": [...]} and/or {"attributes": {"berth.ingress": "true"}}.
  placement    jsonb NOT NULL,
  attributes   jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE lb_listeners (
  id               text PRIMARY KEY,
  load_balancer_id text NOT NULL REFERENCES load_balancers(id) ON DELETE CASCADE,
  port             int NOT NULL,
  protocol         text NOT NULL,
  default_actions  jsonb NOT NULL,
  certificates     jsonb NOT NULL DEFAULT '[]'::jsonb,
  ssl_policy       text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (load_balancer_id, port)
);
CREATE TABLE lb_rules (
  id           text PRIMARY KEY,
  listener_id  text NOT NULL REFERENCES lb_listeners(id) ON DELETE CASCADE,
  priority     int NOT NULL,
  conditions   jsonb NOT NULL,
  actions      jsonb NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  UNIQUE (listener_id, priority)
);
CREATE TABLE target_groups (
  id           text PRIMARY KEY,
  name         text NOT NULL UNIQUE,
  protocol     text,
  port         int,
  target_type  text NOT NULL DEFAULT 'instance',
  health_check jsonb NOT NULL,
  attributes   jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE lb_targets (
  target_group_id text NOT NULL REFERENCES target_groups(id) ON DELETE CASCADE,
  target_id    text NOT NULL,
  port         int NOT NULL,
  -- registered, or draining until drain_until (then the row goes).
  state        text NOT NULL DEFAULT 'registered',
  drain_until  timestamptz,
  registered_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (target_group_id, target_id, port)
);
CREATE TABLE target_health (
  target_group_id text NOT NULL REFERENCES target_groups(id) ON DELETE CASCADE,
  target_id    text NOT NULL,
  port         int NOT NULL,
  node_id      text NOT NULL,
  state        text NOT NULL,
  reason       text NOT NULL DEFAULT '',
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (target_group_id, target_id, port, node_id)
);
CREATE SEQUENCE proxy_snapshot_version;
ALTER TABLE nodes ADD COLUMN address text NOT NULL DEFAULT '';
ALTER TABLE nodes ADD COLUMN proxy_acked_version bigint NOT NULL DEFAULT 0;
ALTER TABLE nodes ADD COLUMN proxy_error text NOT NULL DEFAULT '';
`;
