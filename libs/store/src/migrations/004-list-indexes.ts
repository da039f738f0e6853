/**
 * ListTasks at scale and cheap status updates.
 *
 * - Every ListTasks filter has an index in page order (created_at, id), so a
 *   page walks an index instead of sorting the matches. None is partial:
 *   prepared statements get generic plans that cannot use a partial index.
 * - No index mentions last_status, and the wide spec lives out of line (TOAST),
 *   so a status report (last_status, containers, timestamps) is a HOT update of
 *   a narrow row that touches no index. Node queries use tasks_node_created.
 * - Events: readers go by id (the primary key); pruning by age walks the
 *   primary key too, as ids grow with time. The time is the row's write time,
 *   which readers use to judge id gaps.
 */
export const listIndexes = `
DROP INDEX IF EXISTS tasks_cluster_family;
DROP INDEX IF EXISTS tasks_node_active;
CREATE INDEX tasks_cluster_family_created ON tasks (cluster, family, created_at, id);
CREATE INDEX tasks_cluster_desired_created ON tasks (cluster, desired_status, created_at, id);
CREATE INDEX tasks_cluster_group_created ON tasks (cluster, task_group, created_at, id);
CREATE INDEX tasks_cluster_started_by_created ON tasks (cluster, started_by, created_at, id);
CREATE INDEX tasks_node_created ON tasks (node_id, created_at, id);
CREATE INDEX tasks_stopped_at ON tasks (stopped_at);
ALTER TABLE tasks SET (fillfactor = 80, toast_tuple_target = 256);
ALTER TABLE tasks ALTER COLUMN containers SET STORAGE MAIN;
ALTER TABLE events ALTER COLUMN at SET DEFAULT clock_timestamp();
`;
