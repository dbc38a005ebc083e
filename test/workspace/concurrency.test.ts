import { afterAll, describe, expect, it } from 'vitest';
import { WorkspaceManager } from '../../src/workspace/index.js';
import { makeTempDir, makeTempRepo, type TempRepo } from '../helpers/temp-repo.js';

let repo: TempRepo;
afterAll(async () => repo?.cleanup());

describe('many runs on one repository at once', () => {
  it('prepare, commit and remove worktrees while other runs fetch, without one failing', async () => {
    repo = await makeTempRepo(Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`src/f${i}.txt`, `file ${i}\n`])));
    const manager = new WorkspaceManager({ dataDir: await makeTempDir('autocoder-concurrency-') });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 16 }, async (_, i) => {
        const ws = await manager.prepare({ cloneUrl: repo.root, branch: `autocoder/task-${i}`, runId: `run-${i}` });
        try {
          await import('node:fs/promises').then((fs) => fs.writeFile(`${ws.path}/src/f${i}.txt`, `changed by ${i}\n`));
          return await ws.commitAll({ message: `change ${i}`, authorName: 'autocoder', authorEmail: 'autocoder@localhost' });
        } finally {
          await ws.remove();
        }
      }),
    );
    const failures = outcomes.filter((o) => o.status === 'rejected').map((o) => String((o as PromiseRejectedResult).reason));
    expect(failures).toEqual([]);
    expect(outcomes.every((o) => o.status === 'fulfilled' && typeof o.value === 'string')).toBe(true);
  }, 120_000);
});
