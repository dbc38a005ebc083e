/**
 * A real git smart-HTTP server on 127.0.0.1 for tests: `git http-backend` behind Basic auth,
 * the way GitHub asks for `x-access-token:<token>`.
 *
 *   const server = await startGitServer({ token: 'secret' });
 *   const url = `${server.url}/${'demo'}.git`;
 *   await server.createRepo('demo', { 'README.md': '# demo\n' });
 *   // ... clone / fetch / push url with the token, then look at server.requests
 *   await server.close();
 *
 * http-backend runs through the project's `runProcess`. That runner passes standard input and
 * output as text, and git's packs are binary, so the request body and the CGI response go
 * through files that a tiny `sh` redirects (`<body >response`).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { runProcess } from '../../src/util/process.js';
import { git } from '../../src/workspace/git.js';
import { makeTempDir } from './temp-repo.js';

export interface GitServerRequest {
  method: string;
  url: string;
  /** The Basic user name of an authenticated request. */
  user?: string;
  status?: number;
}

export interface CommitFilesOptions {
  /** Default `main`. A branch that does not exist yet starts from `from` (default `main`). */
  branch?: string;
  from?: string;
  message?: string;
  author?: { name: string; email: string };
  /** Paths to delete in this commit. */
  delete?: string[];
}

export interface GitServer {
  /** `http://127.0.0.1:<port>`; repositories are at `<url>/<name>.git`. */
  url: string;
  /** The same with a trailing slash. */
  baseUrl: string;
  /** The folder that holds the bare repositories. */
  root: string;
  requests: GitServerRequest[];
  cloneUrl(name: string): string;
  /** A bare repository with one commit of `files` on `main` (HEAD → main); returns its path. */
  createRepo(name: string, files: Record<string, string>, opts?: { branch?: string; message?: string }): Promise<string>;
  /** Adds a commit directly in the served repository (someone else pushing); returns its sha. */
  commitFiles(name: string, files: Record<string, string>, opts?: CommitFilesOptions): Promise<string>;
  /** Runs git in the served bare repository; returns stdout. */
  git(name: string, args: string[]): Promise<string>;
  close(): Promise<void>;
}

const IDENTITY = { name: 'Server Person', email: 'server@example.com' };

function basicUser(header: string | undefined, accepts: (token: string) => boolean): string | undefined {
  const match = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0 || !accepts(decoded.slice(colon + 1))) return undefined;
  return decoded.slice(0, colon) || 'anonymous';
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  // git gzips big fetch negotiations; http-backend would read the compressed bytes as protocol.
  return /gzip/i.test(String(req.headers['content-encoding'] ?? '')) ? gunzipSync(body) : body;
}

/** Splits CGI output into status, headers and body. */
function parseCgi(output: Buffer): { status: number; headers: [string, string][]; body: Buffer } {
  let end = output.indexOf('\r\n\r\n');
  let sep = 4;
  if (end < 0) {
    end = output.indexOf('\n\n');
    sep = 2;
  }
  if (end < 0) return { status: 500, headers: [], body: output };
  let status = 200;
  const headers: [string, string][] = [];
  for (const line of output.subarray(0, end).toString('latin1').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 500;
    else headers.push([name, value]);
  }
  return { status, headers, body: output.subarray(end + sep) };
}

export interface GitServerOptions {
  root?: string;
  /** The one token accepted, or a check (e.g. the GitHub emulator's installation tokens). */
  token: string | ((token: string) => boolean);
}

export async function startGitServer(options: GitServerOptions): Promise<GitServer> {
  const accepts = typeof options.token === 'string' ? (t: string) => t === options.token : options.token;
  const root = options.root ?? (await makeTempDir('autocoder-git-server-'));
  const ownsRoot = options.root === undefined;
  const scratch = await mkdtemp(join(tmpdir(), 'autocoder-cgi-'));
  const requests: GitServerRequest[] = [];
  let counter = 0;

  const baseEnv = { PATH: process.env.PATH, HOME: scratch, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const record: GitServerRequest = { method: req.method ?? 'GET', url: req.url ?? '/' };
    requests.push(record);
    const user = basicUser(req.headers.authorization, accepts);
    if (!user) {
      record.status = 401;
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"', 'Content-Type': 'text/plain' });
      res.end('authentication required\n');
      return;
    }
    record.user = user;
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const id = ++counter;
    const inFile = join(scratch, `${id}.in`);
    const outFile = join(scratch, `${id}.out`);
    await writeFile(inFile, body);
    try {
      const result = await runProcess('sh', ['-c', 'exec git http-backend <"$1" >"$2"', 'sh', inFile, outFile], {
        cwd: root,
        timeoutMs: 60_000,
        env: {
          ...baseEnv,
          GIT_PROJECT_ROOT: root,
          GIT_HTTP_EXPORT_ALL: '1',
          PATH_INFO: decodeURIComponent(url.pathname),
          QUERY_STRING: url.search.replace(/^\?/, ''),
          REQUEST_METHOD: req.method ?? 'GET',
          CONTENT_TYPE: String(req.headers['content-type'] ?? ''),
          CONTENT_LENGTH: String(body.length),
          // http-backend refuses pushes from a request without an authenticated user.
          REMOTE_USER: user,
          REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
          GIT_HTTP_MAX_REQUEST_BUFFER: '100M',
        },
      });
      const output = await readFile(outFile).catch(() => Buffer.alloc(0));
      if (result.exitCode !== 0 && output.length === 0) {
        record.status = 500;
        res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.end(result.stderr);
        return;
      }
      const cgi = parseCgi(output);
      record.status = cgi.status;
      res.writeHead(cgi.status, cgi.headers);
      res.end(cgi.body);
    } finally {
      await rm(inFile, { force: true });
      await rm(outFile, { force: true });
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  const repoPath = (name: string) => join(root, `${name}.git`);
  const run = async (name: string, args: string[], opts: { input?: string; env?: Record<string, string> } = {}) =>
    (await git(args, { cwd: repoPath(name), ...opts, env: { GIT_CONFIG_GLOBAL: '/dev/null', ...opts.env } })).stdout;

  async function commitFiles(name: string, files: Record<string, string>, opts: CommitFilesOptions = {}): Promise<string> {
    const branch = opts.branch ?? 'main';
    const author = opts.author ?? IDENTITY;
    const index = join(scratch, `index-${++counter}`);
    const env = {
      GIT_INDEX_FILE: index,
      GIT_AUTHOR_NAME: author.name,
      GIT_AUTHOR_EMAIL: author.email,
      GIT_COMMITTER_NAME: author.name,
      GIT_COMMITTER_EMAIL: author.email,
    };
    const resolveBranch = async (b: string) =>
      (await run(name, ['rev-parse', '--verify', '--quiet', `refs/heads/${b}`]).catch(() => '')).trim();
    const parent = (await resolveBranch(branch)) || (await resolveBranch(opts.from ?? 'main'));
    try {
      if (parent) await run(name, ['read-tree', parent], { env });
      for (const [path, content] of Object.entries(files)) {
        const blob = (await run(name, ['hash-object', '-w', '--stdin'], { input: content })).trim();
        await run(name, ['update-index', '--add', '--cacheinfo', `100644,${blob},${path}`], { env });
      }
      // Mode 0 in --index-info removes an entry; --force-remove would want a work tree.
      const removals = (opts.delete ?? []).map((path) => `0 ${'0'.repeat(40)}\t${path}\n`).join('');
      if (removals) await run(name, ['update-index', '--index-info'], { env, input: removals });
      const tree = (await run(name, ['write-tree'], { env })).trim();
      const sha = (
        await run(name, ['commit-tree', tree, ...(parent ? ['-p', parent] : []), '-F', '-'], {
          env,
          input: `${opts.message ?? 'server commit'}\n`,
        })
      ).trim();
      await run(name, ['update-ref', `refs/heads/${branch}`, sha]);
      return sha;
    } finally {
      await rm(index, { force: true });
    }
  }

  return {
    url,
    baseUrl: `${url}/`,
    root,
    requests,
    cloneUrl: (name) => `${url}/${name}.git`,
    async createRepo(name, files, opts = {}) {
      const path = repoPath(name);
      const branch = opts.branch ?? 'main';
      await mkdir(path, { recursive: true });
      await run(name, ['init', '--bare', '--quiet', `--initial-branch=${branch}`]);
      await run(name, ['config', 'http.receivepack', 'true']);
      if (Object.keys(files).length > 0) await commitFiles(name, files, { branch, message: opts.message ?? 'initial commit' });
      return path;
    },
    commitFiles,
    git: run,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(scratch, { recursive: true, force: true });
      if (ownsRoot) await rm(root, { recursive: true, force: true });
    },
  };
}
