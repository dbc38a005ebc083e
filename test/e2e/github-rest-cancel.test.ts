/**
 * Cancelling GitHub runs through the REST API, end to end: the app started with `npm start` and
 * AUTOCODER_API_TOKEN, GitHub played by the REST emulation, the repositories served over smart
 * HTTP, a scripted model (see github-stage.ts). A run cancelled while queued gets its progress
 * comment edited to the cancelled state by the web process (with REDIS_URL too: the queued task is
 * in its store); a running one is stopped, and its executor says so in the comment.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasRedis, redisSkipNote, startRedis, warnIfNoRedis, type RedisServer } from '../helpers/redis-server.js';
import { makeTempDir } from '../helpers/temp-repo.js';
import { call, finish, script, startGithubStage, waitFor, type GithubStage, type Model, type StageRepo } from './github-stage.js';
import { startWorkerProcess, type WorkerProcess } from './worker-process.js';

warnIfNoRedis('cancelling GitHub runs through the REST API with REDIS_URL');

const API_TOKEN = 'api-token-for-rest-cancel-e2e-0123456789';

const fixAdd = script(
  call('read_file', { path: 'src/math.js' }),
  call('edit_file', { path: 'src/math.js', old_string: 'a - b', new_string: 'a + b' }),
  finish('Fixed add(): it subtracted.'),
);
const addChangelog = script(call('write_file', { path: 'CHANGELOG.md', content: '- add() adds\n' }), finish('Added a changelog entry.'));

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** The REST API of the stage's app, with the token. */
function rest(stage: GithubStage, path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${stage.app.url}${path}`, { ...init, headers: { authorization: `Bearer ${API_TOKEN}`, ...init.headers } });
}

const taskState = async (stage: GithubStage, id: string) => ((await (await rest(stage, `/api/tasks/${id}`)).json()) as { state: string }).state;

/** The run id a progress comment carries in its marker. */
function runIdOf(body: string): string {
  const id = /<!-- autocoder:progress run=([\w-]+) -->/.exec(body)?.[1];
  if (!id) throw new Error(`no progress marker in: ${body}`);
  return id;
}

/**
 * The first run holds at its first model call; a second trigger on the issue is queued
 * behind it (one run per issue at a time) and cancelled through REST while it waits.
 */
async function cancelQueuedRun(stage: GithubStage): Promise<void> {
  const held = deferred();
  let reached = false;
  const repo: StageRepo = await stage.newRepo(async (turn) => {
    if (/changelog/i.test(turn.prompt)) return addChangelog(turn);
    if (turn.turn === 0) {
      reached = true;
      await held.promise;
    }
    return fixAdd(turn);
  });
  try {
    expect((await repo.label()).status).toBe(200);
    await waitFor(() => reached, 'the first run to reach the model', 60_000);
    expect((await repo.comment('/autocoder also add a changelog entry')).status).toBe(200);
    const queuedComment = await stage.waitForProgress(repo, /Queued/, undefined, 60_000, 1);
    const queuedId = runIdOf(queuedComment.body);
    const firstId = runIdOf(repo.progress()[0].body);
    expect(queuedId).not.toBe(firstId);
    // The comment is written just before the task is stored as queued (until then a cancel is a 409).
    await waitFor(async () => (await taskState(stage, queuedId)) === 'queued', 'the second run to be queued');
    expect(await (await rest(stage, `/api/tasks/${queuedId}`)).json()).toMatchObject({ id: queuedId, source: 'github', state: 'queued', startedAt: null });

    const res = await rest(stage, `/api/tasks/${queuedId}/cancel`, { method: 'POST' });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ id: queuedId, state: 'finished' });

    // The same comment, edited in place, rendered as any cancelled run's is.
    const cancelled = await stage.waitForProgress(repo, /Cancelled/, undefined, 30_000, 1);
    expect(cancelled.id).toBe(queuedComment.id);
    expect(cancelled.body).toContain('🛑 **Cancelled**');
    expect(cancelled.body).toContain("Cancelled through autocoder's API before it started.");
    expect(cancelled.body).toContain(`<sub>run \`${queuedId}\` · comment \`/autocoder retry\` to run it again</sub>`);
    expect(cancelled.body).not.toContain('Queued');
    expect(await (await rest(stage, `/api/tasks/${queuedId}`)).json()).toMatchObject({ state: 'finished', endReason: 'cancelled', startedAt: null });

    // The first run goes on to its pull request; the cancelled one never reaches the model.
    held.resolve();
    const pr = await stage.waitForPr(repo);
    const done = await stage.waitForProgress(repo, /Done/, undefined, 60_000, 0);
    expect(done.body).toContain(`/pull/${pr.number}`);
    expect(await repo.show('src/math.js')).toContain('a + b');
    expect(await repo.show('CHANGELOG.md')).toBeUndefined();
    expect(repo.requests().length).toBeGreaterThan(0);
    expect(repo.requests().filter((r) => /changelog/i.test(JSON.stringify(r.body.messages)))).toEqual([]);
    expect(repo.progress()).toHaveLength(2);
    expect(repo.progress()[1].body).toBe(cancelled.body);
    expect(await (await rest(stage, `/api/tasks/${firstId}`)).json()).toMatchObject({ state: 'finished', endReason: 'completed' });
    expect(repo.pulls()).toHaveLength(1);
  } finally {
    held.resolve();
  }
}

/** The state of the run of the first progress comment. */
const stateOf = async (stage: GithubStage, repo: StageRepo) => {
  const body = repo.progress()[0]?.body;
  return body ? taskState(stage, runIdOf(body)) : undefined;
};

/** A run held at its first model call is cancelled through REST: stopped, and its comment says so. */
async function cancelRunningRun(stage: GithubStage): Promise<void> {
  const held = deferred();
  const hanging: Model = async (turn) => {
    await held.promise;
    return fixAdd(turn);
  };
  const repo = await stage.newRepo(hanging);
  try {
    expect((await repo.label()).status).toBe(200);
    await waitFor(async () => repo.requests().length > 0 && (await stateOf(stage, repo)) === 'running', 'the run to reach the model', 60_000);
    const id = runIdOf(repo.progress()[0].body);

    const res = await rest(stage, `/api/tasks/${id}/cancel`, { method: 'POST' });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ id, state: 'running' });

    const cancelled = await stage.waitForProgress(repo, /Cancelled/, undefined, 30_000);
    expect(cancelled.body).toContain('🛑 **Cancelled**');
    expect(cancelled.body).toContain('The run was cancelled.');
    expect(cancelled.body).toContain('/autocoder retry');
    await waitFor(async () => (await taskState(stage, id)) === 'finished', 'the task to finish');
    expect(await (await rest(stage, `/api/tasks/${id}`)).json()).toMatchObject({ state: 'finished', endReason: 'cancelled' });
    expect(repo.pulls()).toHaveLength(0);
    expect(await repo.head()).toBeUndefined();
  } finally {
    held.resolve();
  }
}

describe('cancelling GitHub runs through the REST API (embedded queue)', () => {
  let stage: GithubStage;
  beforeAll(async () => {
    stage = await startGithubStage({ appId: 4848, env: { AUTOCODER_API_TOKEN: API_TOKEN } });
  }, 120_000);
  afterAll(async () => {
    await stage?.close();
  });

  it('a run queued behind another on its issue: its progress comment says cancelled through the API, the model never sees it, the first run ends in its PR', async () => {
    await cancelQueuedRun(stage);
  }, 120_000);

  it('a running run: stopped, and its executor edits the progress comment to cancelled', async () => {
    await cancelRunningRun(stage);
  }, 90_000);
});

describe.skipIf(!hasRedis)(`cancelling GitHub runs through the REST API with REDIS_URL ${redisSkipNote}`, () => {
  let redis: RedisServer;
  let stage: GithubStage;
  let worker: WorkerProcess | undefined;
  beforeAll(async () => {
    redis = await startRedis();
    stage = await startGithubStage({ appId: 4949, env: { AUTOCODER_API_TOKEN: API_TOKEN, REDIS_URL: redis.url } });
    worker = await startWorkerProcess({ ...stage.env(), AUTOCODER_DATA_DIR: await makeTempDir('autocoder-worker-'), AUTOCODER_CONCURRENCY: '2' });
  }, 180_000);
  afterAll(async () => {
    await worker?.stop().catch(() => undefined);
    await stage?.close();
    await redis?.stop();
  });

  it('a queued run: the web process edits its progress comment, the model never sees it, the first run ends in its PR on a worker', async () => {
    await cancelQueuedRun(stage);
  }, 120_000);

  it('a running run: its worker stops it and edits the progress comment to cancelled', async () => {
    await cancelRunningRun(stage);
  }, 90_000);
});
