import { describe, expect, it } from 'vitest';
import { taskViewSchema, toTaskView } from '../../src/api/task-view.js';
import type { TaskRecord } from '../../src/store/tasks.js';

const base: TaskRecord = {
  id: 'run_1',
  source: 'github',
  state: 'queued',
  threadKey: 'acme/widgets#7',
  repo: 'acme/widgets',
  issueNumber: 7,
  title: 'add() subtracts',
  model: 'gpt-4.1',
  request: {},
  data: {},
  attempts: 0,
  cancelRequested: false,
  createdAt: '2026-01-01T10:00:00.000Z',
  updatedAt: '2026-01-01T10:00:00.000Z',
};

describe('toTaskView', () => {
  it('a queued GitHub run: its place in line, nothing else yet', () => {
    const view = toTaskView(base, 3);
    expect(taskViewSchema.parse(view)).toEqual(view);
    expect(view).toEqual({
      id: 'run_1', source: 'github', state: 'queued', endReason: null, repo: 'acme/widgets', issueNumber: 7, title: 'add() subtracts',
      model: 'gpt-4.1', createdAt: base.createdAt, startedAt: null, finishedAt: null, durationMs: null, usage: null, summary: null,
      changedFiles: [], pullRequestUrl: null, error: null, queuePosition: 3, sessionId: null, pushed: null, attempts: null, chosenAttempt: null,
    });
  });

  it('a finished run: result, duration from start to finish, pull request', () => {
    const view = toTaskView(
      {
        ...base,
        state: 'finished',
        endReason: 'completed',
        startedAt: '2026-01-01T10:00:05.000Z',
        finishedAt: '2026-01-01T10:01:05.500Z',
        data: { pullRequestUrl: 'https://github.example/acme/widgets/pull/8' },
        result: {
          summary: 'Fixed it.', changedFiles: [{ path: 'a.js', change: 'modified' }], usage: { promptTokens: 10, completionTokens: 2, totalTokens: 12 },
          steps: 3, durationMs: 59_000, sessionId: 'github:acme/widgets#7', patch: 'diff',
        },
      },
      3,
    );
    expect(taskViewSchema.parse(view)).toEqual(view);
    expect(view).toMatchObject({
      state: 'finished', endReason: 'completed', durationMs: 60_500, summary: 'Fixed it.', changedFiles: [{ path: 'a.js', change: 'modified' }],
      usage: { totalTokens: 12 }, pullRequestUrl: 'https://github.example/acme/widgets/pull/8', sessionId: 'github:acme/widgets#7', queuePosition: null,
    });
  });

  it('a best-of-N run: the attempts and the chosen one from its result; a malformed stored table shows none', () => {
    const outcome = (attempt: number, testExitCode: number) => ({
      attempt, model: `m${attempt}`, reason: 'completed' as const, testExitCode, filesChanged: 1, linesAdded: 2, linesRemoved: 1,
      usage: { promptTokens: 10, completionTokens: 2, totalTokens: 12 }, durationMs: 900,
    });
    const result = { summary: 'ok', changedFiles: [], usage: { promptTokens: 20, completionTokens: 4, totalTokens: 24 }, steps: 2, durationMs: 1000 };
    const view = toTaskView({ ...base, state: 'finished', result: { ...result, attempts: [outcome(1, 1), outcome(2, 0)], chosenAttempt: 2 } });
    expect(taskViewSchema.parse(view)).toEqual(view);
    expect(view).toMatchObject({ attempts: [outcome(1, 1), outcome(2, 0)], chosenAttempt: 2 });
    const none = toTaskView({ ...base, state: 'finished', result: { ...result, attempts: [outcome(1, 0)], chosenAttempt: null } });
    expect(none).toMatchObject({ attempts: [outcome(1, 0)], chosenAttempt: null });
    const malformed = toTaskView({ ...base, state: 'finished', result: { ...result, attempts: [{ attempt: 'one' }], chosenAttempt: 1 } });
    expect(malformed).toMatchObject({ attempts: null, chosenAttempt: null });
  });

  it('a running API task: live usage and session from its data', () => {
    const view = toTaskView({
      ...base, source: 'api', state: 'running', issueNumber: undefined, startedAt: '2026-01-01T10:00:05.000Z',
      data: { usage: { promptTokens: 5, completionTokens: 1, totalTokens: 6 }, sessionId: 'ses_1' },
    });
    expect(view).toMatchObject({ issueNumber: null, usage: { totalTokens: 6 }, sessionId: 'ses_1', durationMs: null, pushed: null });
  });
});
