import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectSandbox, type CommandSandbox } from '../../src/engine/sandbox/index.js';
import { buildCommandEnv } from '../../src/engine/tools/command-env.js';
import { runProcess } from '../../src/util/process.js';
import { sandboxRequest } from '../../src/runtime/sandbox-paths.js';
import { WorkspaceManager } from '../../src/workspace/workspace-manager.js';
import type { PreparedWorkspace } from '../../src/workspace/worktree.js';
import { makeTempRepo, type TempRepo } from '../helpers/temp-repo.js';
import { call, makeContext } from '../tools/tool-context.js';
import { hasBwrap, hostPidsWith, marker, waitGone } from './helpers.js';

const execFileAsync = promisify(execFile);

/** Outside /tmp on purpose: the sandbox's private /tmp would hide it anyway and prove nothing. */
async function dirOutsideTmp(prefix: string): Promise<string> {
  const base = (await fs.stat('/var/tmp').then((s) => s.isDirectory(), () => false)) ? '/var/tmp' : os.tmpdir();
  return fs.realpath(await fs.mkdtemp(path.join(base, prefix)));
}

describe.skipIf(!hasBwrap)('run_command in the bwrap sandbox (skipped: bwrap not usable here)', () => {
  let scratch: string;
  let source: TempRepo;
  let dataDir: string;
  let keyFile: string;
  let dotEnv: string;
  let workspace: PreparedWorkspace;
  let other: PreparedWorkspace;
  let sandbox: CommandSandbox;
  const cleanups: Array<() => Promise<unknown>> = [];

  const run = (command: string, overrides: Parameters<typeof makeContext>[1] = {}) =>
    call(makeContext(workspace.path, { sandbox, commandTimeoutMs: 15_000, ...overrides }), 'run_command', { command });

  beforeAll(async () => {
    scratch = await dirOutsideTmp('autocoder-sandbox-');
    cleanups.push(() => fs.rm(scratch, { recursive: true, force: true }));
    source = await makeTempRepo({ 'README.md': '# demo\n', 'src/app.txt': 'one\ntwo\n' });
    cleanups.push(() => source.cleanup());
    dataDir = path.join(scratch, 'data');
    const manager = new WorkspaceManager({ dataDir });
    workspace = await manager.prepare({ cloneUrl: source.root, branch: 'autocoder/issue-1', runId: 'run_one' });
    other = await manager.prepare({ cloneUrl: source.root, branch: 'autocoder/issue-2', runId: 'run_two' });
    await fs.writeFile(path.join(other.path, 'other-run-secret.txt'), 'work of another run\n');
    await fs.writeFile(path.join(dataDir, 'autocoder.sqlite'), 'the store\n');
    keyFile = path.join(scratch, 'app.private-key.pem');
    await fs.writeFile(keyFile, '-----BEGIN RSA PRIVATE KEY-----\nSANDBOX\n-----END RSA PRIVATE KEY-----\n');
    dotEnv = path.join(scratch, '.env');
    await fs.writeFile(dotEnv, 'OPENAI_API_KEY=sk-from-dotenv-SANDBOX\n');
    sandbox = await detectSandbox({ prefer: 'bwrap', hiddenPaths: [dataDir, keyFile, dotEnv] });
  });
  afterAll(async () => {
    await workspace?.remove();
    await other?.remove();
    while (cleanups.length) await cleanups.pop()!();
  });

  it('is what detection picks here', () => {
    expect(sandbox.kind).toBe('bwrap');
    expect(sandbox.describe()).toMatch(/^bwrap .*no network/);
  });

  it('has no network: a server on the host loopback receives nothing', async () => {
    let requests = 0;
    const server: Server = createServer((_req, res) => {
      requests++;
      res.end('reached');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    try {
      const curl = await run(`curl -sS -m 5 ${url}; echo "curl=$?"`);
      expect(curl.output).not.toContain('reached');
      expect(curl.output).toMatch(/curl=[1-9]/);
      const node = await run(`node -e "fetch('${url}').then(r => r.text()).then(t => console.log('got', t), e => { console.log('failed', e.cause?.code ?? e.message); process.exit(1); })"`);
      expect(node).toMatchObject({ ok: false });
      expect(node.output).toMatch(/failed ECONNREFUSED/);
      expect(requests).toBe(0);
      // The same command outside the sandbox does reach it: the check above is a real one.
      const outside = await call(makeContext(workspace.path, { sandbox: await detectSandbox({ prefer: 'none' }) }), 'run_command', {
        command: `curl -sS -m 5 ${url}`,
      });
      expect(outside.output).toContain('reached');
      expect(requests).toBe(1);
      // A setup command asks for the network (it installs dependencies) and keeps the rest.
      const setup = await sandbox.wrap(`curl -sS -m 5 ${url}; touch /etc/setup-probe 2>/dev/null; echo " etc=$?"`, {
        cwd: workspace.path,
        env: buildCommandEnv(process.env),
        writablePaths: [workspace.path],
        network: true,
      });
      const withNetwork = await runProcess(setup.file, setup.args, { cwd: workspace.path, env: setup.env, timeoutMs: 15_000 });
      expect(withNetwork.output).toMatch(/^reached etc=[1-9]/);
      expect(requests).toBe(2);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('shows the system read-only and only the working tree writable, persisting there', async () => {
    const home = os.homedir();
    const name = `sandbox-probe-${process.pid}`;
    const result = await run(
      [
        `touch /etc/${name}; echo "etc=$?"`,
        `touch /usr/${name}; echo "usr=$?"`,
        `touch ${home}/${name}; echo "home=$?"`,
        `touch ${scratch}/${name}; echo "scratch=$?"`,
        // With capabilities, read-only would be one remount away.
        'mount -o remount,bind,rw / 2>/dev/null; echo "remount=$?"',
        `touch /etc/${name}; echo "etc-after-remount=$?"`,
        'echo "written inside" > made-in-sandbox.txt; echo "tree=$?"',
        'echo "HOME=$HOME"; touch "$HOME/x"; echo "private-home=$?"',
      ].join('; '),
    );
    for (const where of ['etc', 'usr', 'home', 'scratch', 'remount', 'etc-after-remount']) {
      expect(result.output).toMatch(new RegExp(`\\n${where}=[1-9]`));
    }
    expect(result.output).toContain('Read-only file system');
    expect(result.output).toMatch(/\ntree=0/);
    expect(result.output).toMatch(/\nHOME=\/tmp\/home\nprivate-home=0/);
    for (const dir of ['/etc', '/usr', home, scratch]) {
      await expect(fs.stat(path.join(dir, name))).rejects.toThrow(/ENOENT/);
    }
    expect(await fs.readFile(path.join(workspace.path, 'made-in-sandbox.txt'), 'utf8')).toBe('written inside\n');
    await fs.rm(path.join(workspace.path, 'made-in-sandbox.txt'));
  });

  it('gives every command a private /tmp that vanishes with it', async () => {
    const name = `sandbox-tmp-${process.pid}-${Date.now()}`;
    const hostOnly = path.join(os.tmpdir(), `${name}-host`);
    await fs.writeFile(hostOnly, 'host\n');
    try {
      const first = await run(`echo inside > /tmp/${name} && cat /tmp/${name}; ls ${hostOnly}; echo "host-file=$?"`);
      expect(first.output).toMatch(/^exit code 0\ninside\n/);
      expect(first.output).toMatch(/host-file=[1-9]/);
      await expect(fs.stat(path.join('/tmp', name))).rejects.toThrow(/ENOENT/);
      const second = await run(`cat /tmp/${name}`);
      expect(second).toMatchObject({ ok: false });
      expect(second.output).toContain('No such file or directory');
    } finally {
      await fs.rm(hostOnly, { force: true });
    }
  });

  it('has its own /proc: only the sandbox processes, not the app', async () => {
    const result = await run("ls /proc | grep -E '^[0-9]+$' | tr '\\n' ' '; echo; echo \"ppid=$PPID\"; cat /proc/$PPID/environ | tr '\\0' '\\n'");
    const pids = result.output.split('\n')[1].trim().split(' ').map(Number);
    expect(pids.length).toBeGreaterThan(0);
    expect(pids.length).toBeLessThan(10);
    expect(pids).not.toContain(process.pid);
    expect(Math.max(...pids)).toBeLessThan(100);
    await expect(run(`cat /proc/${process.pid}/environ`)).resolves.toMatchObject({ ok: false });
    // Its parent is bwrap's init inside, whose environment is the command's own.
    expect(result.output).toMatch(/ppid=\d\n/);
    expect(result.output).toContain('CI=1');
    expect(result.output).not.toMatch(/OPENAI|TOKEN|SECRET/);
  });

  it('hides the data dir (store, other runs, other worktrees), the key file and .env', async () => {
    const result = await run(
      [
        `echo "data=[$(ls -a ${dataDir} | tr '\\n' ' ')]"`,
        `echo "worktrees=[$(ls ${path.join(dataDir, 'worktrees')} | tr '\\n' ' ')]"`,
        `cat ${path.join(dataDir, 'autocoder.sqlite')}; echo "store=$?"`,
        `cat ${path.join(other.path, 'other-run-secret.txt')}; echo "other=$?"`,
        `echo "admins=[$(ls ${path.join(workspace.cachePath, 'worktrees')} | tr '\\n' ' ')]"`,
        `echo "key=[$(cat ${keyFile} 2>&1)]"`,
        `echo "dotenv=[$(cat ${dotEnv} 2>&1)]"`,
        `touch ${path.join(dataDir, 'planted')}; echo "plant=$?"`,
      ].join('; '),
    );
    expect(result.output).toContain('data=[. .. mirrors worktrees ]');
    expect(result.output).toContain('worktrees=[run_one ]');
    expect(result.output).toMatch(/store=[1-9]/);
    expect(result.output).toMatch(/other=[1-9]/);
    expect(result.output).not.toContain('the store');
    expect(result.output).not.toContain('work of another run');
    expect(result.output).toContain(`key=[cat: ${keyFile}: Permission denied]`);
    expect(result.output).toContain(`dotenv=[cat: ${dotEnv}: Permission denied]`);
    expect(result.output).not.toContain('SANDBOX\n');
    expect(result.output).toMatch(/plant=[1-9]/);
    await expect(fs.stat(path.join(dataDir, 'planted'))).rejects.toThrow(/ENOENT/);
    // The other run's admin folder is not among what the worktree's repository shows.
    expect(result.output).toContain('admins=[run_one ]');
  });

  it('hides what the runtime asks it to: relative key path, .env of the app folder, the home\'s credentials', async () => {
    const home = path.join(scratch, 'home');
    await fs.mkdir(path.join(home, '.ssh'), { recursive: true });
    await fs.writeFile(path.join(home, '.ssh', 'id_ed25519'), 'PRIVATE SSH KEY\n');
    await fs.writeFile(path.join(home, '.npmrc'), '//registry.example/:_authToken=npm-token-SANDBOX\n');
    await fs.writeFile(path.join(home, 'notes.txt'), 'fine to read\n');
    const request = sandboxRequest({ dataDir: 'data', privateKeyPath: 'app.private-key.pem' }, { cwd: scratch, home, prefer: 'bwrap' });
    const runtime = await detectSandbox(request);
    // One stream for both, so that the lines come in the order the commands ran (two pipes need not).
    const result = await run(
      `exec 2>&1; ls -A ${home}/.ssh | wc -l; cat ${home}/.npmrc; cat ${home}/notes.txt; cat ${keyFile}; cat ${dotEnv}; ls ${dataDir}/worktrees`,
      { sandbox: runtime },
    );
    expect(result.output).toBe(
      [
        'exit code 0',
        '0',
        `cat: ${home}/.npmrc: Permission denied`,
        'fine to read',
        `cat: ${keyFile}: Permission denied`,
        `cat: ${dotEnv}: Permission denied`,
        'run_one',
        '',
      ].join('\n'),
    );
  });

  it('runs git status, diff, log and checkout in a real worktree; the shared repository stays read-only, and git state a command leaves does not reach the host', async () => {
    await fs.writeFile(path.join(workspace.path, 'src/app.txt'), 'one\nTWO\n');
    await fs.writeFile(path.join(workspace.path, 'new.txt'), 'new\n');
    const env = buildCommandEnv({ ...process.env, HOME: '/nonexistent' });
    const result = await run('git status --short; echo "status=$?"; git diff --stat; echo "diff=$?"; git log --oneline | wc -l; git branch --show-current', {
      commandEnv: env,
    });
    expect(result.output).toContain(' M src/app.txt');
    expect(result.output).toContain('?? new.txt');
    expect(result.output).toMatch(/status=0/);
    expect(result.output).toContain('src/app.txt | 2 +-');
    expect(result.output).toMatch(/diff=0/);
    expect(result.output).toContain('autocoder/issue-1');

    const writes = await run(
      [
        'git checkout -- src/app.txt; echo "checkout-file=$?"',
        'git add new.txt 2>/dev/null; echo "add=$?"',
        'git commit -qam x 2>/dev/null; echo "commit=$?"',
        'git checkout -q -b elsewhere 2>/dev/null; echo "branch=$?"',
        // Planted where git keeps a merge in progress: the app's next commit would take it as a parent.
        'git rev-parse HEAD > "$(git rev-parse --git-dir)/MERGE_HEAD"; echo "merge-head-inside=$?"',
        'git status | grep -c "All conflicts fixed but you are still merging"',
        'echo "gitdir: /tmp" > .git 2>/dev/null; echo "repoint=$?"',
        'git config core.fsmonitor "touch /tmp/pwned" 2>/dev/null; echo "config=$?"',
        `touch ${path.join(workspace.cachePath, 'hooks', 'pre-commit')} 2>/dev/null; echo "hook=$?"`,
        'git status --short',
      ].join('; '),
      { commandEnv: env },
    );
    expect(writes.output).toMatch(/checkout-file=0/);
    expect(writes.output).toMatch(/merge-head-inside=0\n1\n/);
    expect(await fs.stat(path.join(workspace.cachePath, 'worktrees', 'run_one', 'MERGE_HEAD')).catch(() => undefined)).toBeUndefined();
    for (const refused of ['add', 'commit', 'branch', 'repoint', 'config', 'hook']) {
      expect(writes.output).toMatch(new RegExp(`${refused}=[1-9]`));
    }
    expect(writes.output).not.toContain(' M src/app.txt');
    expect(writes.output).toContain('?? new.txt');
    // And on the host everything is as git expects it.
    const host = await execFileAsync('git', ['status', '--short', '--branch'], { cwd: workspace.path });
    expect(host.stdout).toContain('## autocoder/issue-1');
    expect(host.stdout).toContain('?? new.txt');
    await fs.rm(path.join(workspace.path, 'new.txt'));
  });

  it('keeps a clone\'s .git read-only while git reads it', async () => {
    await fs.writeFile(path.join(source.root, 'README.md'), '# changed\n');
    try {
      const result = await call(makeContext(source.root, { sandbox }), 'run_command', {
        command: 'git status --short; touch .git/hooks/pre-commit 2>/dev/null; echo "hook=$?"; git config core.pager evil 2>/dev/null; echo "config=$?"',
      });
      expect(result.output).toMatch(/^exit code 0\n M README.md\nhook=[1-9]\d*\nconfig=[1-9]\d*\n$/);
      await expect(fs.stat(path.join(source.root, '.git', 'hooks', 'pre-commit'))).rejects.toThrow(/ENOENT/);
    } finally {
      await source.git('checkout', '--', 'README.md');
    }
  });

  it('contains a fork bomb: when the time limit hits, every child is dead', async () => {
    const tag = marker();
    const started = Date.now();
    const result = await run(`for i in $(seq 1 500); do sleep ${tag} & done; ls /proc | grep -cE '^[0-9]+$' > count.txt; wait`, {
      commandTimeoutMs: 3_000,
    });
    expect(result.output).toMatch(/^killed: timed out after 3s/);
    expect(Date.now() - started).toBeLessThan(10_000);
    const inside = Number(await fs.readFile(path.join(workspace.path, 'count.txt'), 'utf8'));
    expect(inside).toBeGreaterThan(100);
    expect(await waitGone(tag)).toEqual([]);
    await fs.rm(path.join(workspace.path, 'count.txt'));
  });

  it('kills a hanging command with all its descendants at its time limit', async () => {
    const tag = marker();
    const started = Date.now();
    const running = run(`sleep ${tag} & (sleep ${tag} & sh -c 'sleep ${tag}') & setsid sleep ${tag} & nohup sleep ${tag} >/dev/null 2>&1 & sleep ${tag}`, {
      commandTimeoutMs: 2_000,
    });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    // Seen from the host while it runs: they exist, so "gone" afterwards means killed.
    expect((await hostPidsWith(tag)).length).toBeGreaterThanOrEqual(5);
    const result = await running;
    expect(result.output).toMatch(/^killed: timed out after 2s/);
    expect(Date.now() - started).toBeLessThan(6_000);
    expect(await waitGone(tag)).toEqual([]);
  });

  it('caps the size of a file a command writes', async () => {
    const small = await detectSandbox({ prefer: 'bwrap', limits: { maxFileBytes: 1024 * 1024 } });
    const result = await run('head -c 3000000 /dev/zero > big.bin; echo "rc=$?"; wc -c < big.bin', { sandbox: small });
    expect(result.output).toMatch(/rc=[1-9]/);
    expect(Number(result.output.trim().split('\n').pop())).toBeLessThanOrEqual(1024 * 1024);
    await fs.rm(path.join(workspace.path, 'big.bin'), { force: true });
  });

  it('hides the host daemons\' sockets (/run) and those under hidden paths', async () => {
    const socketPath = path.join(dataDir, 'daemon.sock');
    let connections = 0;
    const server = createNetServer(() => connections++);
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    try {
      const result = await run(
        `ls -A /run | wc -l; node -e "require('net').connect('${socketPath}').on('connect', () => console.log('connected')).on('error', (e) => console.log('refused', e.code))"`,
      );
      expect(result.output).toMatch(/^exit code 0\n0\n/);
      expect(result.output).toContain('refused ENOENT');
      expect(connections).toBe(0);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe.skipIf(!hasBwrap || process.getuid?.() !== 0 || !(await fs.stat('/usr/bin/setpriv').catch(() => undefined)))(
  'the process limit for an unprivileged user (skipped: needs bwrap, root and setpriv to become one)',
  () => {
    it('stops a fork bomb at the limit, counted per sandbox', async () => {
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'autocoder-nproc-'));
      await fs.chmod(dir, 0o777);
      const tag = marker();
      try {
        const limited = await detectSandbox({ prefer: 'bwrap', limits: { maxProcesses: 64 } });
        const wrapped = await limited.wrap(`for i in $(seq 1 300); do sleep ${tag} & done; wait`, {
          cwd: dir,
          env: { PATH: process.env.PATH },
          writablePaths: [dir],
        });
        const running = runProcess('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', wrapped.file, ...wrapped.args], {
          cwd: dir,
          env: wrapped.env,
          timeoutMs: 4_000,
        });
        let most = 0;
        const until = Date.now() + 3_000;
        while (Date.now() < until) {
          most = Math.max(most, (await hostPidsWith(tag)).length);
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
        const result = await running;
        expect(result.timedOut).toBe(true);
        expect(result.output).toContain('Resource temporarily unavailable');
        expect(most).toBeGreaterThan(10);
        expect(most).toBeLessThan(64);
        expect(await waitGone(tag)).toEqual([]);
      } finally {
        await fs.rm(dir, { recursive: true, force: true });
      }
    });
  },
);
