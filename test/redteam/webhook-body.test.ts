/**
 * Red team: a 30 MB webhook delivery. It is refused with 413 before it is held in memory (with a
 * Content-Length, and chunked without one), correctly signed or not, and the app goes on taking
 * normal deliveries.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueLabeledPayload, signPayload } from '../helpers/webhooks.js';
import { MAINTAINER, call, finish, script, startGithubStage, type GithubStage } from '../e2e/github-stage.js';

let stage: GithubStage;

beforeAll(async () => {
  stage = await startGithubStage({ appId: 5454 });
}, 120_000);

afterAll(async () => {
  await stage?.close();
});

const MB = 1024 * 1024;

/** The app's resident memory, from its own Prometheus metrics (read when scraped). */
async function appRss(): Promise<number> {
  const text = await (await fetch(`${stage.app.url}/metrics`)).text();
  const match = /^process_resident_memory_bytes (\d+(?:\.\d+)?(?:e\+\d+)?)$/m.exec(text);
  if (!match) throw new Error('no process_resident_memory_bytes in /metrics');
  return Number(match[1]);
}

/** A validly signed `issues.labeled` delivery whose issue body is `bytes` long. */
function hugeDelivery(repo: Awaited<ReturnType<GithubStage['newRepo']>>, bytes: number) {
  const payload = issueLabeledPayload({ ...repo.common, sender: MAINTAINER, issue: { number: repo.issue, title: repo.title, body: 'A'.repeat(bytes), user: MAINTAINER } });
  const body = JSON.stringify(payload);
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'issues',
      'x-github-delivery': `huge-${repo.name}-${bytes}`,
      'x-hub-signature-256': signPayload(stage.webhookSecret, body),
    },
  };
}

describe('red team: an oversized webhook body', () => {
  it('refuses 30 MB with 413 without holding it, and takes the next delivery as usual', async () => {
    const repo = await stage.newRepo(script(call('edit_file', { path: 'src/math.js', old_string: 'a - b', new_string: 'a + b' }), finish('Fixed add().')));
    const huge = hugeDelivery(repo, 30 * MB);
    const before = await appRss();

    const declared = await fetch(stage.app.webhookUrl, { method: 'POST', headers: huge.headers, body: huge.body });
    expect(declared.status).toBe(413);
    expect(await declared.json()).toEqual({ error: expect.stringMatching(/Payload Too Large/) });

    // Chunked: no Content-Length to refuse on, so the limit is counted as the body arrives.
    const bytes = Buffer.from(huge.body);
    const chunked = await fetch(stage.app.webhookUrl, {
      method: 'POST',
      headers: huge.headers,
      body: new ReadableStream({
        start(controller) {
          for (let at = 0; at < bytes.length; at += MB) controller.enqueue(bytes.subarray(at, at + MB));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);

    // Neither 30 MB body was kept (the limit is 5 MB), and the process is alive and answering.
    expect(await appRss()).toBeLessThan(before + 20 * MB);
    expect(stage.app.child.exitCode).toBeNull();
    expect((await fetch(`${stage.app.url}/healthz`)).ok).toBe(true);
    expect(stage.app.output()).toMatch(/request body too large: refused/);
    // Nothing of it ran: no comment, no model call.
    expect(repo.comments()).toHaveLength(0);
    expect(repo.requests()).toHaveLength(0);

    // A normal delivery right after works end to end.
    expect((await repo.label()).status).toBe(200);
    await stage.waitForPr(repo);
    await stage.waitForProgress(repo, /\*\*Done\*\*/);
  }, 120_000);

  it('still takes a large real delivery under the limit', async () => {
    const repo = await stage.newRepo(script(finish('Read the long issue.')));
    // A body of 65,536 characters is GitHub's longest, here in 3-byte characters.
    const payload = issueLabeledPayload({ ...repo.common, sender: MAINTAINER, issue: { number: repo.issue, title: repo.title, body: '€'.repeat(65_536), user: MAINTAINER } });
    const response = await stage.deliver('issues', payload);
    expect(response.status).toBe(200);
    await stage.waitForProgress(repo, /finished without changing any file/);
    expect(repo.requests()[0].body.messages.at(-1).content).toContain('€€€€');
  }, 90_000);
});
