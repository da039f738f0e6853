import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StateFile } from './state-file.js';

const dir = () => mkdtempSync(join(tmpdir(), 'berth-agent-state-'));
const task = { taskId: 'a'.repeat(32), taskArn: 'arn', cluster: 'default', family: 'web', revision: 1, desiredStatus: 'RUNNING', taskDefinitionJson: '{}', secrets: [], secretsError: '' };

describe('StateFile', () => {
  it('round-trips the state and writes only on change', () => {
    const d = dir();
    const f = new StateFile(d);
    const at = new Date('2026-01-01T00:00:00Z');
    const state = { nodeId: 'n-1', generation: 4, tasks: [task], finished: { b: { taskId: 'b', lastStatus: 'STOPPED', containers: [], stopCode: 'EssentialContainerExited', stoppedReason: 'x', at, warnings: [], healthStatus: 'UNKNOWN' } } };
    expect(f.save(state)).toBe(true);
    expect(f.save(state)).toBe(false);
    expect(existsSync(join(d, 'state.json.tmp'))).toBe(false);
    const back = new StateFile(d).load(() => {});
    expect(back).toEqual(state);
  });

  it('never writes secret values', () => {
    const d = dir();
    const f = new StateFile(d);
    f.save({ nodeId: 'n-1', generation: 1, tasks: [{ ...task, secrets: [{ containerName: 'app', kind: 'env', target: 'DB', value: 'hunter2-value' }] }], finished: {} });
    expect(readFileSync(join(d, 'state.json'), 'utf8')).not.toContain('hunter2-value');
    expect(new StateFile(d).load(() => {}).tasks[0]!.secrets).toEqual([]);
  });

  it('starts empty on a missing or corrupt file, keeping going', () => {
    const d = dir();
    const warnings: string[] = [];
    expect(new StateFile(d).load((w) => warnings.push(w))).toEqual({ nodeId: '', generation: 0, tasks: [], finished: {} });
    expect(warnings).toEqual([]);
    writeFileSync(join(d, 'state.json'), '{"nodeId": "n-1", "gener');
    expect(new StateFile(d).load((w) => warnings.push(w)).nodeId).toBe('');
    // With the identity saved once, a corrupt state file keeps it.
    new StateFile(d).save({ nodeId: 'n-7', generation: 1, tasks: [], finished: {} });
    writeFileSync(join(d, 'state.json'), 'garbage');
    expect(new StateFile(d).load((w) => warnings.push(w)).nodeId).toBe('n-7');
    writeFileSync(join(d, 'state.json'), '{"nodeId": "n-1", "gener');
    expect(warnings[0]).toMatch(/corrupt/);
    expect(readFileSync(join(d, 'state.json'), 'utf8')).toContain('gener');
  });
});
