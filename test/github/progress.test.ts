import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import nock from 'nock';
import pino from 'pino';
import { ProbotOctokit } from 'probot';
import type { Octokit } from '../../src/github/octokit.js';
import { createProgressReporter } from '../../src/github/progress.js';

const API = 'https://api.github.com';
const COMMENT = '/repos/acme/widgets/issues/comments/77';

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());
afterAll(() => nock.enableNetConnect());

const octokit = new ProbotOctokit({ auth: 'ghs_progress-test', retry: { enabled: false }, throttle: { enabled: false } }) as unknown as Octokit;

function reporter(minIntervalMs: number) {
  return createProgressReporter({
    octokit: async () => octokit,
    owner: 'acme',
    repo: 'widgets',
    commentId: 77,
    runId: 'run-1',
    redact: (text) => text,
    log: pino({ level: 'silent' }),
    minIntervalMs,
  });
}

/** Every edit of the comment, in order, as the phase the body names. */
function edits(): string[] {
  const seen: string[] = [];
  nock(API)
    .persist()
    .patch(COMMENT)
    .reply(200, (_uri: string, body: any) => {
      seen.push(String(body.body));
      return { id: 77 };
    });
  return seen;
}

describe('progress reporter', () => {
  it('sends one edit at once, with the latest state, and folds later phase changes within the interval into the edit at flush', async () => {
    const seen = edits();
    const progress = reporter(600_000);
    progress.update({ phase: 'preparing' });
    progress.update({ phase: 'working', step: 1, maxSteps: 40 });
    progress.update({ phase: 'testing' });
    // One edit goes out, with the state as it is when it is sent; the later phases wait for the
    // interval (ten minutes here).
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(seen).toHaveLength(1);
    expect(seen[0]).toContain('Running the tests');
    progress.update({ phase: 'working', step: 2, maxSteps: 40 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(seen).toHaveLength(1);
    progress.update({ phase: 'done', log: 'all good' });
    await progress.flush();
    expect(seen).toHaveLength(2);
    expect(seen[1]).toContain('**Done**');
    expect(seen[1]).not.toContain('Running the tests');
    // Nothing new: no edit.
    await progress.flush();
    expect(seen).toHaveLength(2);
  });

  it('with no interval, writes every phase change in order', async () => {
    const seen = edits();
    const progress = reporter(0);
    for (const phase of ['preparing', 'working', 'testing', 'done'] as const) {
      progress.update({ phase });
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await progress.flush();
    expect(seen.map((body) => /\*\*(\w+)/.exec(body)?.[1])).toEqual(['Preparing', 'Working', 'Running', 'Done']);
  });
});
