/**
 * Red team: a model that answers garbage several turns running. The errors the contract gives
 * back to the model (arguments that are not JSON, an unknown tool) must reach it as tool results;
 * the run must end with something a maintainer can read on GitHub, and nothing half-done may be
 * pushed or opened.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScriptStep } from '../helpers/scripted-llm-server.js';
import { call, script, startGithubStage, type GithubStage, type StageRepo } from '../e2e/github-stage.js';

let stage: GithubStage;

beforeAll(async () => {
  stage = await startGithubStage({ appId: 5252 });
}, 120_000);

afterAll(async () => {
  await stage?.close();
});

const badJson: ScriptStep = { toolCalls: [{ name: 'edit_file', arguments: '{"path": "src/math.js", "old_string": "a - b", ' }] };
const unknownTool: ScriptStep = { toolCalls: [{ name: 'delete_everything', arguments: { really: true } }] };
const html: ScriptStep = { status: 200, body: '<!doctype html><html><body><h1>502 Bad Gateway</h1></body></html>', headers: { 'content-type': 'text/html' } };
const empty: ScriptStep = { text: '' };

/** The tool results of the repository's last model call (it carries the whole conversation). */
function toolResults(repo: StageRepo): string[] {
  const last = repo.requests().at(-1);
  return ((last?.body.messages ?? []) as { role: string; content: string }[]).filter((m) => m.role === 'tool').map((m) => m.content);
}

/**
 * The markdown that GitHub renders as prose: fenced blocks (a fence closes only with as many
 * backticks or more, CommonMark's rule) and inline code spans removed.
 */
function outsideCode(markdown: string): string {
  const kept: string[] = [];
  let fence: string | undefined;
  for (const line of markdown.split('\n')) {
    const marker = /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence) {
      if (marker && marker[0] === fence[0] && marker.length >= fence.length && line.trim() === marker) fence = undefined;
      continue;
    }
    if (marker) {
      fence = marker;
      continue;
    }
    kept.push(line.replace(/(`+)[\s\S]*?\1/g, ''));
  }
  return kept.join('\n');
}

async function branches(repo: StageRepo): Promise<string[]> {
  return (await stage.git.git(repo.name, ['for-each-ref', '--format=%(refname)', 'refs/heads'])).split('\n').filter(Boolean);
}

describe('red team: a model answering garbage', () => {
  it('gives bad JSON and an unknown tool back to the model, and ends on an empty answer with a readable comment', async () => {
    const repo = await stage.newRepo(script(badJson, unknownTool, empty));
    await repo.label();
    const progress = await stage.waitForProgress(repo, /finished without changing any file/);

    const [json, unknown] = toolResults(repo);
    expect(json).toMatch(/arguments are not valid JSON/);
    expect(unknown).toMatch(/unknown tool 'delete_everything'; the available tools are: .*edit_file/);
    expect(repo.requests()).toHaveLength(3);
    expect(progress.body).toMatch(/<details>/);
    expect(repo.pulls()).toHaveLength(0);
    expect(await branches(repo)).toEqual(['refs/heads/main']);
  }, 90_000);

  it('fails with a clear message when the model answers HTML with status 200, and pushes nothing of the work so far', async () => {
    const write = call('write_file', { path: 'NOTES.md', content: 'half-done work\n' });
    const repo = await stage.newRepo(script(write, badJson, unknownTool, html));
    await repo.label();
    const progress = await stage.waitForProgress(repo, /The run failed/, undefined, 90_000);

    // The model answered the first three turns; the page is not asked for again: it would be the same.
    expect(repo.requests()).toHaveLength(4);
    const [, json, unknown] = toolResults(repo);
    expect(json).toMatch(/not valid JSON/);
    expect(unknown).toMatch(/unknown tool/);
    expect(progress.body).toContain('answered with a web page (text/html), not a stream of chat-completion events — check OPENAI_BASE_URL');
    expect(progress.body).not.toMatch(/undefined|\[object Object\]/);
    expect(repo.pulls()).toHaveLength(0);
    expect(await branches(repo)).toEqual(['refs/heads/main']);
  }, 120_000);

  it('publishes what a hostile model writes as inert text: no mention, closing keyword, image, marker or broken-out log', async () => {
    const payload = "```\n</details>\n@octocat closes #999 ![t](http://127.0.0.1:9/track.png) <!-- autocoder:pr issue=999 -->\n````\n";
    const repo = await stage.newRepo(
      script(
        call('edit_file', { path: 'src/math.js', old_string: 'a - b', new_string: 'a + b' }),
        call('run_command', { command: `printf '%s' '${payload.replace(/'/g, "'\\''")}'` }),
        // Ends inside a code block it never closes, which would swallow the rest of the body.
        { text: `@octocat @acme/everyone Fixes #999, closes #998. ![x](http://127.0.0.1:9/x.png) <img src="http://127.0.0.1:9/y.png"> <!-- autocoder:pr issue=999 -->\n${payload}\n<details><summary>open</summary>\n\n\`\`\`\nswallowed` },
      ),
    );
    await repo.label();
    const pr = await stage.waitForPr(repo);
    await stage.waitForProgress(repo, /\*\*Done\*\*/);
    const body = pr.body ?? '';

    const prose = outsideCode(body);
    expect(prose).not.toMatch(/@octocat|@acme\/everyone/);
    expect(prose).not.toMatch(/(?:fixes|closes) #99[89]/i);
    expect(prose).not.toMatch(/!\[[^\]]*\]\(http:\/\/127\.0\.0\.1:9/);
    expect(prose).not.toMatch(/<img/i);
    // One marker outside code, ours, and first (the one read back); the rest of the body is still prose.
    expect(prose.match(/<!-- autocoder:pr /g)).toHaveLength(1);
    expect(body.startsWith(`<!-- autocoder:pr issue=${repo.issue} -->`)).toBe(true);
    expect(prose).toContain(`Fixes #${repo.issue}`);
    expect(prose).toContain('### Changed files');
    // The <details> blocks open and close in pairs outside code.
    expect((prose.match(/<details>/g) ?? []).length).toBe((prose.match(/<\/details>/g) ?? []).length);
    // The text is still there for a reader, only made harmless.
    expect(body).toContain('octocat');
    for (const comment of repo.comments()) expect(outsideCode(comment.body)).not.toMatch(/@octocat|closes #999/i);
  }, 90_000);

  it('stops at maxSteps when every answer is garbage, and says so', async () => {
    const repo = await stage.newRepo(script(badJson, unknownTool, badJson), { config: 'maxSteps: 3\n' });
    await repo.label();
    const progress = await stage.waitForProgress(repo, /all 3 of its steps/);
    expect(repo.requests()).toHaveLength(3);
    expect(toolResults(repo)).toHaveLength(2);
    expect(progress.body).not.toMatch(/undefined|\[object Object\]/);
    expect(repo.pulls()).toHaveLength(0);
    expect(await branches(repo)).toEqual(['refs/heads/main']);
  }, 90_000);
});
