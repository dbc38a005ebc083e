/**
 * Budgets and the closed-PR rule end to end, as in github-commands.test.ts: the app started with
 * `npm start`, GitHub played by the REST emulation, the repository served over smart HTTP, a
 * scripted model that reports usage (1,000 tokens an answer). The operator's environment sets
 * prices and a daily token budget; each test has its own repository, and the model is chosen by
 * the repository its prompt names.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScriptStep } from '../helpers/scripted-llm-server.js';
import { startGithubStage, waitFor, type GithubStage } from './github-stage.js';

const DAILY_TOKENS = 4_500;

let stage: GithubStage;

type Model = (turn: number) => ScriptStep;

/** 900 prompt + 100 completion tokens an answer: the budgets' arithmetic is plain. */
const usage = { prompt_tokens: 900, completion_tokens: 100 };
/** Writes one more note every turn and never finishes: only a budget ends it. */
const writesNotes: Model = (turn) => ({ toolCalls: [{ name: 'write_file', arguments: { path: `notes/${turn + 1}.md`, content: `note ${turn + 1}\n` } }], usage });
/** Reads and never changes anything. */
const onlyReads: Model = () => ({ toolCalls: [{ name: 'list_files', arguments: {} }], usage });
/** A change, then finish; each run writes a file of its own, so a retry has something to push. */
function changesEveryRun(): Model {
  let runs = 0;
  return (turn) => {
    if (turn === 0) runs++;
    return turn === 0
      ? { toolCalls: [{ name: 'write_file', arguments: { path: `run-${runs}.md`, content: `run ${runs}\n` } }], usage }
      : { toolCalls: [{ name: 'finish', arguments: { summary: `Run ${runs} wrote its file.` } }], usage };
  };
}

/** A repository of one file; each test opens its issues with `repo.issue(title)`. */
async function newRepo(model: Model, config: string) {
  const repo = await stage.newRepo(({ turn }) => model(turn), { config, onlyFiles: true, files: { 'src/math.js': 'export function add(a, b) {\n  return a - b;\n}\n' } });
  return {
    ...repo,
    issue: (title: string) => repo.addIssue({ title }),
    show: (ref: string, path: string) => repo.show(path, ref),
  };
}

const final = /Done|Finished without changes|failed|Cancelled/;
const waitForFinal = (progress: () => { body: string }[], index = 0) =>
  waitFor(() => final.test(progress()[index]?.body ?? '') && progress()[index], 'the progress comment to end', 60_000);

beforeAll(async () => {
  stage = await startGithubStage({
    appId: 4545,
    webhookSecret: 'webhook-secret-for-budget-tests',
    llmKey: 'sk-e2e-budgets-key-0123456789abcdef',
    env: { AUTOCODER_PRICE_PER_MTOK_INPUT: '2', AUTOCODER_PRICE_PER_MTOK_OUTPUT: '8', AUTOCODER_DAILY_TOKENS: String(DAILY_TOKENS) },
  });
}, 120_000);

afterAll(async () => {
  await stage?.close();
});

describe('a token budget', () => {
  it('ends a run with changes: the work so far pushed as a draft pull request marked incomplete, naming the budget and its figure', async () => {
    // `draft: false`, yet the pull request of an unfinished run is a draft.
    const repo = await newRepo(writesNotes, 'maxTokens: 1500\ndraft: false\n');
    const issue = repo.issue('Write the notes');
    await issue.label();
    const progress = await waitForFinal(issue.progress);
    const [pr] = repo.pulls();
    expect(pr).toBeDefined();
    expect(pr.draft).toBe(true);
    const sentence = 'The token budget ended the run: it used 2,000 tokens of its 1,500-token budget before it was finished; what it did so far is here.';
    expect(pr.body).toContain(`> **Incomplete:** ${sentence}`);
    // Priced: 1,800 prompt tokens at $2 and 200 completion tokens at $8 per million.
    expect(pr.body).toContain('2,000 tokens (1,800 prompt, 200 completion) · $0.0052 ·');
    expect(progress.body).toContain(sentence);
    expect(progress.body).toContain(`/pull/${pr.number}`);
    // Both answers' notes were committed and pushed; no third model call was made.
    expect(await repo.show(pr.head.ref, 'notes/1.md')).toBe('note 1\n');
    expect(await repo.show(pr.head.ref, 'notes/2.md')).toBe('note 2\n');
    expect(repo.requests()).toHaveLength(2);
  });

  it('ends a run that changed nothing: the comment names the budget, and nothing is pushed', async () => {
    const repo = await newRepo(onlyReads, 'maxTokens: 1500\n');
    const issue = repo.issue('Look around');
    await issue.label();
    const progress = await waitForFinal(issue.progress);
    expect(progress.body).toContain('Finished without changes');
    expect(progress.body).toContain(
      'The token budget ended the run: it used 2,000 tokens of its 1,500-token budget before it was finished, and it had changed nothing, so nothing was pushed.',
    );
    expect(repo.pulls()).toHaveLength(0);
    await expect(stage.git.git(repo.name, ['rev-parse', '--verify', '--quiet', `refs/heads/autocoder/issue-${issue.number}`])).rejects.toThrow();
  });
});

describe('the daily token budget of a repository', () => {
  it('caps a run at what is left of the day, says the daily budget ended it, then turns the next trigger away', async () => {
    // The day has 4,500 tokens: the first run uses its own 3,000, the second gets the 1,500 left
    // (less than its own 3,000), stops after 2,000, and the day has used 5,000.
    const repo = await newRepo(writesNotes, 'maxTokens: 3000\n');
    const first = repo.issue('First');
    await first.label();
    await waitForFinal(first.progress);
    const second = repo.issue('Second');
    await second.label();
    await waitForFinal(second.progress);
    const pr = repo.pulls().find((p) => p.head.ref === `autocoder/issue-${second.number}`)!;
    expect(pr.draft).toBe(true);
    expect(pr.body).toContain(
      "**Incomplete:** The daily token budget ended the run: it used the rest of this repository's daily budget of 4,500 tokens (2,000 tokens in this run; it resets at midnight UTC)",
    );
    const firstPr = repo.pulls().find((p) => p.head.ref === `autocoder/issue-${first.number}`)!;
    expect(firstPr.body).toContain('**Incomplete:** The token budget ended the run: it used 3,000 tokens of its 3,000-token budget');
    expect(second.progress()[0].body).toContain('The daily token budget ended the run');

    const third = repo.issue('Third');
    await third.label();
    const reply = await waitFor(() => third.replies()[0], 'the reply to the third label', 30_000);
    expect(reply.body).toContain(`⏸️ autocoder did not start: acme/${repo.name} has reached its daily budget of 4,500 tokens (5,000 used today).`);
    expect(reply.body).toMatch(/The budget resets at 00:00 UTC on \d{4}-\d{2}-\d{2}/);
    expect(third.progress()).toHaveLength(0);
  });
});

describe('a pull request closed without merging', () => {
  it('a new label is answered and runs nothing; `/autocoder retry` runs and reopens the same pull request', async () => {
    const repo = await newRepo(changesEveryRun(), 'label: autocoder\n');
    const issue = repo.issue('add() subtracts');
    await issue.label();
    await waitForFinal(issue.progress);
    const [pr] = repo.pulls();
    expect(pr.state).toBe('open');
    pr.state = 'closed';
    pr.closed_at = new Date().toISOString();

    await issue.label();
    const reply = await waitFor(() => issue.replies()[0], 'the reply to the label', 30_000);
    expect(reply.body).toContain(`autocoder's pull request #${pr.number} for this issue was closed without merging`);
    expect(reply.body).toContain('`/autocoder retry`');
    expect(issue.progress()).toHaveLength(1);

    await issue.comment('/autocoder retry');
    await waitFor(() => issue.progress().length === 2 || undefined, 'a second progress comment', 30_000);
    const progress = await waitForFinal(issue.progress, 1);
    expect(progress.body).toContain('Done');
    expect(repo.pulls()).toHaveLength(1);
    expect(repo.pulls()[0]).toMatchObject({ number: pr.number, state: 'open' });
  });
});
