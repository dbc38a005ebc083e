/**
 * `autocoder worker` as an operator starts it, when something it needs is missing: a message
 * that says what to set, and exit code 2, never a hang or a stack trace.
 */
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runNodeChild } from '../helpers/child.js';
import { makeTempDir } from '../helpers/temp-repo.js';

const bin = resolve('bin/autocoder.js');

async function worker(env: NodeJS.ProcessEnv) {
  // An empty folder: no .env of this checkout is read.
  return runNodeChild([bin, 'worker'], { cwd: await makeTempDir('autocoder-worker-cli-'), env });
}

describe('autocoder worker, misconfigured', () => {
  it('says that REDIS_URL is needed when it is not set', async () => {
    const outcome = await worker({});
    expect(outcome.code).toBe(2);
    expect(outcome.stderr).toContain('REDIS_URL is not set');
    expect(outcome.stderr).toContain('autocoder serve');
  });

  it('says which GitHub App credentials are missing', async () => {
    const outcome = await worker({ REDIS_URL: 'redis://127.0.0.1:1' });
    expect(outcome.code).toBe(2);
    expect(outcome.stderr).toContain('APP_ID and PRIVATE_KEY (or PRIVATE_KEY_PATH)');
  });

  it('names AUTOCODER_WORKER_LOCK_MS when it is not a positive whole number', async () => {
    const outcome = await worker({ REDIS_URL: 'redis://127.0.0.1:1', AUTOCODER_WORKER_LOCK_MS: 'soon' });
    expect(outcome.code).toBe(2);
    expect(outcome.stderr).toContain('AUTOCODER_WORKER_LOCK_MS: expected a positive whole number, got "soon"');
  });
});
