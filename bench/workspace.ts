/**
 * A ready working tree for a run on the large repository, served over loopback smart HTTP:
 * `WorkspaceManager.prepare` with an empty data folder (cold), with the mirror cache in place
 * (warm), and 8 at once on a warm cache; against a full `git clone` over the same server and the
 * file-write floor (`git archive | tar -x` from a local bare copy).
 */
import { spawn } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startGitServer, type GitServer } from '../test/helpers/git-http-server.js';
import { HARDENED_CONFIG, git, withAuth } from '../src/workspace/git.js';
import { runProcess } from '../src/util/process.js';
import { WorkspaceManager } from '../src/workspace/workspace-manager.js';
import type { PreparedWorkspace } from '../src/workspace/worktree.js';
import type { Benchmark } from './lib/bench.js';
import { removeDir, treeDir } from './lib/fs.js';
import { countLargeRepo, ensureLargeRepo, LARGE_REPO_NAME, LARGE_REPO_PATH, REPOS_DIR } from './lib/large-repo.js';
import { formatMs, median, timed } from './lib/stats.js';
import { ratioText, type Row } from './lib/table.js';

const TOKEN = 'bench-token-0123456789';
const ROUNDS = { rounds: 3, warmPerRound: 2, parallel: 1 };
const PARALLEL = 8;

/** The file-write floor: the tree's files and nothing else, from a local bare copy. */
function archiveInto(dir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', 'git -C "$1" archive main | tar -x -C "$2"', 'sh', LARGE_REPO_PATH, dir], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`git archive | tar -x exited with ${code}`))));
  });
}

/** As the GitHub runner asks for it: the default branch named, an existing branch reused if there is one. */
function prepareIn(manager: WorkspaceManager, server: GitServer, runId: string): Promise<PreparedWorkspace> {
  return manager.prepare({
    cloneUrl: server.cloneUrl(LARGE_REPO_NAME),
    token: TOKEN,
    branch: `autocoder/${runId}`,
    baseBranch: 'main',
    fromExistingBranch: true,
    runId,
  });
}

/**
 * What a run leaves behind before its tree is removed (and parked): a commit of 40 edited files,
 * 10 deleted and 20 new ones, then uncommitted edits, scratch files and an ignored
 * `node_modules` of 200 files. The next run's tree has to undo all of it.
 */
async function finishLikeARun(ws: PreparedWorkspace, n: number): Promise<void> {
  const files = (await git(['ls-files', '-z', 'packages/pkg03'], { cwd: ws.path })).stdout.split('\0').filter(Boolean);
  for (const file of files.slice(0, 40)) await writeFile(join(ws.path, file), `// rewritten by run ${n}\n`);
  for (const file of files.slice(40, 50)) await rm(join(ws.path, file));
  for (let i = 0; i < 20; i++) await writeFile(join(ws.path, `packages/pkg03/new-${n}-${i}.ts`), `export const n = ${i};\n`);
  await ws.commitAll({ message: `run ${n}`, authorName: 'autocoder', authorEmail: 'autocoder@localhost' });
  await writeFile(join(ws.path, 'README.md'), `# changed by run ${n}\n`);
  await writeFile(join(ws.path, `notes-${n}.txt`), 'scratch\n');
  for (let i = 0; i < 200; i++) {
    await mkdir(join(ws.path, 'node_modules', `dep${i % 20}`), { recursive: true });
    await writeFile(join(ws.path, 'node_modules', `dep${i % 20}`, `f${i}.js`), 'module.exports = 1;\n');
  }
  await ws.remove();
}

export const workspaceBench: Benchmark = {
  name: 'workspace',
  description: 'ready working tree on a 20,000-file, 5,000-commit repository: cold, warm, 8 at once vs git clone and the file-write floor',
  async run(ctx) {
    const { generatedMs } = await ensureLargeRepo(ctx.log);
    const size = await countLargeRepo();
    const server = await startGitServer({ root: REPOS_DIR, token: TOKEN });
    const { path: root, fs } = treeDir('workspace');
    ctx.log(`  trees and data dirs on ${fs}`);
    const samples = { floor: [] as number[], clone: [] as number[], cold: [] as number[], warm: [] as number[], fresh: [] as number[] };
    const parallel = { prepare: [] as number[], floor: [] as number[] };
    let recycledAll = true;
    // Nothing is deleted until the end but the runs' own leftovers: on a file system that is slow
    // to reuse the inodes of files just deleted (ext4 without a journal, as on this benchmark VM),
    // deleting 20,000 files would slow down whatever writes the next tree. And everything written
    // so far is flushed before each measurement, so that none pays for the write-back of the trees
    // before it.
    const quiet = () => runProcess('sync', [], { cwd: root, env: { PATH: process.env.PATH }, timeoutMs: 120_000 });
    const measure = async (fn: () => Promise<unknown>) => {
      await quiet();
      return (await timed(fn)).ms;
    };
    const floor = async (name: string) => {
      const dir = join(root, name);
      await mkdir(dir);
      return measure(() => archiveInto(dir));
    };
    const clone = async (name: string) => {
      const dir = join(root, name);
      const url = server.cloneUrl(LARGE_REPO_NAME);
      return measure(() => git(['clone', '--quiet', url, dir], { cwd: root, env: withAuth(TOKEN, url) }));
    };
    try {
      let manager: WorkspaceManager | undefined;
      // Rounds of every kind in turn, so that a noisy moment on the machine falls on all alike.
      for (let round = 0; round < ROUNDS.rounds; round++) {
        samples.floor.push(await floor(`floor-${round}`));
        samples.clone.push(await clone(`clone-${round}`));
        const dataDir = join(root, `data-${round}`);
        manager = new WorkspaceManager({ dataDir });
        let ws!: PreparedWorkspace;
        samples.cold.push(await measure(async () => (ws = await prepareIn(manager!, server, `cold-${round}`))));
        // Warm, as the app is after a run of the repository: the cache in place, the tree of
        // the earlier run parked when it ended.
        for (let i = 0; i < ROUNDS.warmPerRound; i++) {
          await finishLikeARun(ws, round * 10 + i);
          samples.warm.push(await measure(async () => (ws = await prepareIn(manager!, server, `warm-${round}-${i}`))));
          recycledAll &&= ws.recycled;
        }
        // Warm with no parked tree (another run of the repository holds it): a new worktree.
        const noPool = new WorkspaceManager({ dataDir, parkedPerRepository: 0 });
        samples.fresh.push(await measure(() => prepareIn(noPool, server, `fresh-${round}`)));
        ctx.log(
          `  floor ${formatMs(samples.floor.at(-1)!)}, full clone ${formatMs(samples.clone.at(-1)!)}, cold prepare ${formatMs(samples.cold.at(-1)!)}, warm prepare ${samples.warm.slice(-ROUNDS.warmPerRound).map(formatMs).join(', ')}, warm without a parked tree ${formatMs(samples.fresh.at(-1)!)}`,
        );
      }
      for (let round = 0; round < ROUNDS.parallel; round++) {
        parallel.prepare.push(await measure(() => Promise.all(Array.from({ length: PARALLEL }, (_, i) => prepareIn(manager!, server, `par-${round}-${i}`)))));
        const dirs = Array.from({ length: PARALLEL }, (_, i) => join(root, `pfloor-${round}-${i}`));
        await Promise.all(dirs.map((dir) => mkdir(dir)));
        parallel.floor.push(await measure(() => Promise.all(dirs.map((dir) => archiveInto(dir)))));
        ctx.log(`  ${PARALLEL} at once ${formatMs(parallel.prepare.at(-1)!)}; ${PARALLEL} floors at once ${formatMs(parallel.floor.at(-1)!)}`);
      }
      if (!recycledAll) throw new Error('a warm prepare did not get the parked tree of the run before it');
    } finally {
      await server.close();
      ctx.log('  removing the trees ...');
      await removeDir(root);
    }

    const floorMs = median(samples.floor);
    const cloneMs = median(samples.clone);
    const cold = median(samples.cold);
    const warm = median(samples.warm);
    const fresh = median(samples.fresh);
    const par = median(parallel.prepare);
    const parFloor = median(parallel.floor);
    const repo = `${size.files} files, ${size.commits} commits, ${(size.packBytes / 2 ** 20).toFixed(0)} MB pack`;
    const details = { repo: size, generatedMs, samples, parallel };
    const rows: Row[] = [
      {
        id: 'workspace.cold',
        bench: 'workspace',
        figure: 'working tree, cold cache (empty data dir)',
        value: cold,
        shown: formatMs(cold),
        baseline: { label: 'full git clone', shown: formatMs(cloneMs), value: cloneMs },
        ratio: cloneMs / cold,
        ratioShown: `${ratioText(cloneMs / cold, 1)} faster`,
        target: 'reported',
        note: `repository: ${repo}; served by git http-backend on 127.0.0.1; trees written to ${fs}`,
        details,
      },
      {
        id: 'workspace.warm.floor',
        bench: 'workspace',
        figure: 'working tree, warm cache (after a run of the repository)',
        value: warm,
        shown: formatMs(warm),
        baseline: { label: 'git archive | tar -x', shown: formatMs(floorMs), value: floorMs },
        ratio: warm / floorMs,
        ratioShown: ratioText(warm / floorMs),
        target: '≤ 1.5× the floor',
        pass: warm <= 1.5 * floorMs,
        note: 'the earlier run committed 70 changed files, left edits, scratch files and a 200-file node_modules, and its tree was parked when it ended; the next prepare fetches, takes the parked tree, `checkout --force -B` to the new start (only the files that differ are written) and `clean -ffdx`',
      },
      {
        id: 'workspace.warm.clone',
        bench: 'workspace',
        figure: 'working tree, warm cache vs full clone',
        value: warm,
        shown: formatMs(warm),
        baseline: { label: 'full git clone', shown: formatMs(cloneMs), value: cloneMs },
        ratio: cloneMs / warm,
        ratioShown: `${ratioText(cloneMs / warm, 1)} faster`,
        target: '≥ 5× faster than a clone',
        pass: cloneMs / warm >= 5,
      },
      {
        id: 'workspace.warm.new',
        bench: 'workspace',
        figure: 'working tree, warm cache, no parked tree (a new worktree)',
        value: fresh,
        shown: formatMs(fresh),
        baseline: { label: 'git archive | tar -x', shown: formatMs(floorMs), value: floorMs },
        ratio: fresh / floorMs,
        ratioShown: ratioText(fresh / floorMs),
        target: 'reported',
        note: `when every parked tree of the repository is in use: a new worktree writes all ${size.files} files (git's parallel checkout); the full clone costs ${ratioText(cloneMs / floorMs, 1)} the single-process file-write floor on this repository`,
      },
      {
        id: 'workspace.parallel',
        bench: 'workspace',
        figure: `${PARALLEL} working trees at once, warm cache`,
        value: par,
        shown: formatMs(par),
        baseline: { label: `${PARALLEL} × archive | tar at once`, shown: formatMs(parFloor), value: parFloor },
        ratio: par / parFloor,
        ratioShown: ratioText(par / parFloor),
        target: 'reported',
      },
    ];
    return rows;
  },
};
