import { execFileSync } from 'node:child_process';

/** True under CI=true: there, a missing Docker engine or Postgres is a failure, never a skip. */
export const IN_CI = process.env.CI === 'true' || process.env.CI === '1';

/**
 * Whether a test that needs `what` may run. Outside CI a missing dependency
 * skips (returns false, with a note); under CI it throws, failing the suite.
 */
export function requireOrSkip(what: string, available: boolean, hint: string): boolean {
  if (available) return true;
  const message = `${what} is not available: ${hint}`;
  if (IN_CI) throw new Error(`${message} (CI=true: tests that need it fail instead of skipping)`);
  console.warn(`SKIPPING: ${message}`);
  return false;
}

let dockerChecked: boolean | undefined;

/** A Docker engine answers on this machine (through the docker CLI). */
export function dockerAvailable(): boolean {
  if (dockerChecked === undefined) {
    try {
      execFileSync('docker', ['info', '--format', '{{.ServerVersion}}'], { stdio: 'pipe', timeout: 10_000 });
      dockerChecked = true;
    } catch {
      dockerChecked = false;
    }
  }
  return dockerChecked;
}

/** The local test image, built by scripts/build-test-image.sh (no registry needed). */
export const TEST_IMAGE = process.env.BERTH_TEST_IMAGE ?? 'berth-test/busybox:1';

export function testImageAvailable(): boolean {
  try {
    execFileSync('docker', ['image', 'inspect', TEST_IMAGE], { stdio: 'pipe', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/** Docker and the test image: true to run, false to skip (outside CI), throws under CI. */
export function requireDocker(): boolean {
  if (!requireOrSkip('a Docker engine', dockerAvailable(), 'install docker.io and start dockerd')) return false;
  return requireOrSkip(`the test image ${TEST_IMAGE}`, testImageAvailable(), 'run scripts/build-test-image.sh');
}
