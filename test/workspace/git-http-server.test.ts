import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { git, withAuth } from '../../src/workspace/git.js';
import { startGitServer, type GitServer } from '../helpers/git-http-server.js';
import { makeTempDir } from '../helpers/temp-repo.js';

const TOKEN = 'server-test-token';
let server: GitServer;
let work: string;

beforeAll(async () => {
  server = await startGitServer({ token: TOKEN });
  work = await makeTempDir('autocoder-server-test-');
  await server.createRepo('hello', { 'README.md': '# hello\n', 'src/a.txt': 'a\n' });
});
afterAll(async () => {
  await server?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

const basic = (password: string) => `Basic ${Buffer.from(`x-access-token:${password}`).toString('base64')}`;

describe('git smart-HTTP test server', () => {
  it('challenges requests without valid credentials', async () => {
    const anonymous = await fetch(`${server.cloneUrl('hello')}/info/refs?service=git-upload-pack`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Basic realm="git"');
    const wrong = await fetch(`${server.cloneUrl('hello')}/info/refs?service=git-upload-pack`, { headers: { authorization: basic('nope') } });
    expect(wrong.status).toBe(401);
    const right = await fetch(`${server.cloneUrl('hello')}/info/refs?service=git-upload-pack`, { headers: { authorization: basic(TOKEN) } });
    expect(right.status).toBe(200);
    expect(right.headers.get('content-type')).toBe('application/x-git-upload-pack-advertisement');
    expect(server.requests.at(-1)).toMatchObject({ method: 'GET', user: 'x-access-token', status: 200 });
  });

  it('serves clones and accepts pushes from authenticated users', async () => {
    const clone = join(work, 'clone');
    const auth = withAuth(TOKEN);
    await git(['clone', '--quiet', server.cloneUrl('hello'), clone], { cwd: work, env: auth });
    expect((await git(['rev-parse', '--abbrev-ref', 'HEAD'], { cwd: clone })).stdout.trim()).toBe('main');
    await git(['-c', 'user.name=T', '-c', 'user.email=t@e', 'commit', '--quiet', '--allow-empty', '-m', 'pushed'], { cwd: clone });
    await git(['push', '--quiet', 'origin', 'HEAD:refs/heads/feature'], { cwd: clone, env: auth });
    expect(await server.git('hello', ['log', '-1', '--format=%s', 'feature'])).toBe('pushed\n');
  });

  it('gunzips gzip-encoded request bodies', async () => {
    const sha = (await server.git('hello', ['rev-parse', 'main'])).trim();
    const pkt = (line: string) => (line.length + 4).toString(16).padStart(4, '0') + line;
    const request = `${pkt(`want ${sha}\n`)}0000${pkt('done\n')}`;
    const response = await fetch(`${server.cloneUrl('hello')}/git-upload-pack`, {
      method: 'POST',
      headers: {
        authorization: basic(TOKEN),
        'content-type': 'application/x-git-upload-pack-request',
        'content-encoding': 'gzip',
      },
      body: gzipSync(Buffer.from(request)),
    });
    expect(response.status).toBe(200);
    const body = Buffer.from(await response.arrayBuffer());
    expect(body.subarray(0, 8).toString()).toBe('0008NAK\n');
    expect(body.includes(Buffer.from('PACK'))).toBe(true);
  });

  it('adds commits directly, as someone else pushing would', async () => {
    const sha = await server.commitFiles('hello', { 'other.txt': 'o\n' }, { branch: 'other', message: 'by someone', delete: ['src/a.txt'] });
    expect((await server.git('hello', ['log', '-1', '--format=%H %s %an', 'other'])).trim()).toBe(`${sha} by someone Server Person`);
    expect((await server.git('hello', ['ls-tree', '-r', '--name-only', 'other'])).trim().split('\n')).toEqual(['README.md', 'other.txt']);
  });
});
