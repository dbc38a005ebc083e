import type { FileChange } from '../engine/events.js';
import { runProcess } from '../util/process.js';
import { git } from '../workspace/git.js';
import type { PreparedWorkspace } from '../workspace/index.js';
import { createWritePolicy, type RepoConfig } from './repo-config.js';

/** Paths changed against the policy are put back as they were; the pull request says which. */
export async function revertBlocked(workspace: PreparedWorkspace, files: FileChange[], config: RepoConfig): Promise<string[]> {
  const policy = createWritePolicy(config);
  const blocked = files.filter((file) => policy(file.path) !== undefined).map((file) => file.path);
  for (const path of blocked) {
    const tracked = await git(['cat-file', '-e', `${workspace.baseSha}:${path}`], { cwd: workspace.path, okExitCodes: [1, 128] });
    if (tracked.exitCode === 0) {
      await git(['checkout', workspace.baseSha, '--', path], { cwd: workspace.path });
    } else {
      await git(['rm', '-q', '-f', '--cached', '--ignore-unmatch', '--', path], { cwd: workspace.path });
      await runProcess('rm', ['-f', '--', path], { cwd: workspace.path, env: { PATH: process.env.PATH } });
    }
  }
  return blocked;
}
