import type { Octokit } from './octokit.js';
import { parseMarker } from './render.js';

export interface CommentToCreate {
  owner: string;
  repo: string;
  issue_number: number;
  body: string;
}

/** The hidden marker that makes the comment findable, e.g. `progress` with `{ run: 'run_1' }`. */
export interface CommentMarker {
  kind: string;
  attributes: Record<string, string>;
}

type Created = Awaited<ReturnType<Octokit['rest']['issues']['createComment']>>['data'];

/** GitHub can answer 5xx (or drop the connection) after it has written the comment. */
function mayHaveWritten(error: unknown): boolean {
  const status = (error as { status?: number }).status;
  return status === undefined || status >= 500;
}

/**
 * Creates a comment that carries `marker`, at most once. Octokit's retry plugin would send the
 * create again after a 502, and a 502 can come after GitHub wrote the comment: the issue would
 * show two progress comments, one of them never updated. So the first try goes without retries,
 * and after a failure that may have written it the comments written since are searched for the
 * marker before it is created again.
 */
export async function createCommentOnce(octokit: Octokit, comment: CommentToCreate, marker: CommentMarker): Promise<Created> {
  // GitHub's clock and ours differ a little; a wider window only costs a longer list.
  const since = new Date(Date.now() - 60_000).toISOString();
  try {
    return (await octokit.rest.issues.createComment({ ...comment, request: { retries: 0 } })).data;
  } catch (error) {
    if (!mayHaveWritten(error)) throw error;
    const written = await octokit
      .paginate(octokit.rest.issues.listComments, { owner: comment.owner, repo: comment.repo, issue_number: comment.issue_number, since, per_page: 100 })
      .catch(() => []);
    const found = written.find((c) => {
      if (c.user?.type !== 'Bot') return false;
      const attributes = parseMarker(c.body, marker.kind);
      return attributes !== undefined && Object.entries(marker.attributes).every(([key, value]) => attributes[key] === value);
    });
    if (found) return found as Created;
    return (await octokit.rest.issues.createComment({ ...comment })).data;
  }
}
