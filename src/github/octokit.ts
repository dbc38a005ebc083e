import type { ProbotOctokit } from 'probot';

/** An installation-authenticated client, as `app.auth(installationId)` returns it. */
export type Octokit = InstanceType<typeof ProbotOctokit>;

/** Resolves the client of an installation; the one way the background work reaches GitHub. */
export type GetOctokit = (installationId: number) => Promise<Octokit>;

export interface RepoRef {
  owner: string;
  name: string;
}

/**
 * A new installation token, never a cached one: pushes after long steps need a fresh hour. Asked
 * for with the app's JWT client, so it goes to the configured API (GitHub Enterprise, a test server).
 */
export async function mintInstallationToken(appOctokit: Octokit, installationId: number): Promise<string> {
  const { data } = await appOctokit.rest.apps.createInstallationAccessToken({ installation_id: installationId });
  return data.token;
}

const WRITERS = new Set(['admin', 'maintain', 'write']);

/**
 * Whether a user may start, cancel or retry runs: write, maintain or admin on the repository.
 * `permission` is GitHub's legacy value (maintain shows as write); `role_name` the precise one.
 */
export async function canWrite(octokit: Octokit, repo: RepoRef, username: string): Promise<boolean> {
  try {
    const { data } = await octokit.rest.repos.getCollaboratorPermissionLevel({
      owner: repo.owner,
      repo: repo.name,
      username,
    });
    const role = (data as { role_name?: string }).role_name;
    return WRITERS.has(data.permission) || (role !== undefined && WRITERS.has(role));
  } catch (error) {
    if ((error as { status?: number }).status === 404) return false;
    throw error;
  }
}
