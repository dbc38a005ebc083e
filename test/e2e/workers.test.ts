/**
 * Scaling out on Redis, end to end: the web process (`npm start` with REDIS_URL) queues runs, two
 * `node bin/autocoder.js worker` processes execute them, against the GitHub emulation, the git
 * server and the scripted model of the GitHub stage, with a real redis-server. Which worker ran a
 * task is read from the web process's own store (`data.worker`).
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasRedis, redisSkipNote, startRedis, warnIfNoRedis, type RedisServer } from '../helpers/redis-server.js';
import { makeTempDir } from '../helpers/temp-repo.js';
import { call, finish, script, startGithubStage, waitFor, type GithubStage, type Model, type StageRepo } from './github-stage.js';
import { startWorkerProcess, type WorkerProcess } from './worker-process.js';

warnIfNoRedis('autocoder worker end to end');

let redis: RedisServer;
let stage: GithubStage;
const workers: WorkerProcess[] = [];

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const fix = script(
  call('read_file', { path: 'src/math.js' }),
  call('edit_file', { path: 'src/math.js', old_string: 'a - b', new_string: 'a + b' }),
  finish('Fixed add(): it subtracted.'),
);

async function startWorker(): Promise<WorkerProcess> {
  const worker = await startWorkerProcess({
    ...stage.env(),
    AUTOCODER_DATA_DIR: await makeTempDir('autocoder-worker-'),
    AUTOCODER_CONCURRENCY: '1',
    // A worker killed mid-run is noticed after about two seconds, not thirty.
    AUTOCODER_WORKER_LOCK_MS: '2000',
  });
  workers.push(worker);
  return worker;
}

/** The web process's record of a repository's runs: state, end and which worker ran each. */
function runsOf(repo: StageRepo): { id: string; state: string; endReason: string | null; worker: string | null; attempts: number }[] {
  const db = new Database(join(stage.dataDir, 'autocoder.db'), { readonly: true, fileMustExist: true });
  try {
    return db
      .prepare(
        `SELECT id, state, end_reason AS endReason, json_extract(data, '$.worker') AS worker, attempts
           FROM tasks WHERE repo = ? AND json_extract(data, '$.run') IS NOT NULL ORDER BY created_at`,
      )
      .all(`acme/${repo.name}`) as ReturnType<typeof runsOf>;
  } finally {
    db.close();
  }
}

describe.skipIf(!hasRedis)(`autocoder worker on Redis, end to end ${redisSkipNote}`, () => {
  beforeAll(async () => {
    redis = await startRedis();
    stage = await startGithubStage({ appId: 4646, env: { REDIS_URL: redis.url } });
    await startWorker();
    await startWorker();
  }, 180_000);

  afterAll(async () => {
    for (const worker of workers) await worker.stop().catch(() => undefined);
    await stage?.close();
    await redis?.stop();
  });

  it('runs two labelled issues on two different workers, each ending in one pull request', async () => {
    // Neither run goes past its first model turn until both have started: one worker each.
    const both = deferred();
    const arrived = new Set<string>();
    const waitingForBoth = (name: () => string): Model => async (turn) => {
      if (turn.turn === 0) {
        arrived.add(name());
        if (arrived.size === 2) both.resolve();
        await both.promise;
      }
      return fix(turn);
    };
    const first: StageRepo = await stage.newRepo(waitingForBoth(() => first.name));
    const second: StageRepo = await stage.newRepo(waitingForBoth(() => second.name));
    expect((await first.label()).status).toBe(200);
    expect((await second.label()).status).toBe(200);

    for (const repo of [first, second]) {
      const pr = await stage.waitForPr(repo);
      expect(pr.head.ref).toBe(repo.branch);
      expect(pr.body).toContain('Fixed add(): it subtracted.');
      await stage.waitForProgress(repo, /Done/);
      expect(repo.progress()).toHaveLength(1);
      expect(repo.pulls()).toHaveLength(1);
      expect(await repo.show('src/math.js')).toContain('a + b');
    }
    const ranBy = [first, second].map((repo) => runsOf(repo)[0]);
    expect(ranBy.map((run) => run.endReason)).toEqual(['completed', 'completed']);
    expect(new Set(ranBy.map((run) => run.worker))).toEqual(new Set(workers.map((w) => w.id)));
  }, 120_000);

  it('gives the run of a worker killed with -9 to the other worker: one pull request', async () => {
    const killed = deferred();
    let firstCall = true;
    const repo = await stage.newRepo(async (turn) => {
      // The first model call is slow: the run is in progress when its worker is killed.
      if (firstCall) {
        firstCall = false;
        await killed.promise;
      }
      return fix(turn);
    });
    await repo.label();
    const [running] = await waitFor(() => {
      const runs = runsOf(repo);
      return runs[0]?.worker && repo.requests().length > 0 ? runs : undefined;
    }, 'the run to reach the model on a worker', 60_000);
    const victim = workers.find((w) => w.id === running.worker)!;
    const survivor = workers.find((w) => w !== victim)!;
    await victim.stop('SIGKILL');
    workers.splice(workers.indexOf(victim), 1);
    killed.resolve();

    const pr = await stage.waitForPr(repo, 60_000);
    await stage.waitForProgress(repo, /Done/);
    expect(repo.pulls()).toHaveLength(1);
    expect(pr.head.ref).toBe(repo.branch);
    expect(await repo.show('src/math.js')).toContain('a + b');
    expect(repo.progress()).toHaveLength(1);
    const [run] = runsOf(repo);
    expect(run).toMatchObject({ state: 'finished', endReason: 'completed', worker: survivor.id, attempts: 2 });
    // The survivor started it again from the start, on the same branch.
    expect(survivor.output()).toContain(run.id);
    await startWorker();
  }, 120_000);

  it('stops a run on its worker when a maintainer comments /autocoder cancel', async () => {
    const cancelled = deferred();
    const repo = await stage.newRepo(async (turn) => {
      // The run waits at its first model call until the end of the test: it is running when cancelled.
      if (turn.turn === 0) await cancelled.promise;
      return fix(turn);
    });
    try {
      await repo.label();
      await waitFor(() => runsOf(repo)[0]?.state === 'running' && repo.requests().length > 0 && runsOf(repo)[0], 'the run to reach the model', 60_000);
      expect((await repo.comment('/autocoder cancel')).status).toBe(200);
      const run = await waitFor(() => runsOf(repo).find((r) => r.state === 'finished'), 'the run to end', 30_000);
      expect(run.endReason).toBe('cancelled');
      expect(workers.map((w) => w.id)).toContain(run.worker);
      await stage.waitForProgress(repo, /[Cc]ancelled/);
      expect(repo.pulls()).toHaveLength(0);
    } finally {
      cancelled.resolve();
    }
  }, 120_000);

  it('answers a webhook with 503 at once while Redis is down, and runs it when it is delivered again after Redis is back', async () => {
    const repo = await stage.newRepo(fix);
    await redis.kill();
    const sent = Date.now();
    const refused = await repo.label('delivery-while-redis-is-down');
    expect(refused.status).toBe(503);
    expect(Date.now() - sent).toBeLessThan(1_000);
    expect(refused.body).toContain('Redis');
    expect(runsOf(repo)).toEqual([]);

    await redis.restart();
    // GitHub's redelivery: the same delivery id, now taken in.
    await waitFor(async () => (await repo.label('delivery-while-redis-is-down')).status === 200, 'the redelivery to be accepted', 20_000);
    const pr = await stage.waitForPr(repo, 60_000);
    expect(pr.body).toContain('Fixed add(): it subtracted.');
    await stage.waitForProgress(repo, /Done/);
    expect(repo.pulls()).toHaveLength(1);
    expect(runsOf(repo)).toHaveLength(1);
    expect(workers.map((w) => w.id)).toContain(runsOf(repo)[0].worker);
  }, 120_000);
});
