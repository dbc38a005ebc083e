import { truncateEnd } from '../util/text.js';
import { asData, sanitizeUntrusted } from './sanitize.js';
import type { GithubRun } from './trigger.js';

export interface PromptContext {
  /** The issue the work is for. */
  issue: { number: number; title: string; body: string };
  /** For a revision: the pull request's diff against its base. */
  diff?: string;
}

const MAX_DIFF_CHARS = 40_000;

function request(run: GithubRun): string {
  const who = `@${run.trigger.sender.login}`;
  const text = sanitizeUntrusted(run.instructions, { maxChars: 8_000 });
  return text ? `${who} (a maintainer) asks:\n${text}` : '';
}

/** An approved plan is the maintainer's instruction, as their own words are: sanitised, not fenced as data. */
function approvedPlan(run: GithubRun): string {
  if (!run.plan) return '';
  const text = sanitizeUntrusted(run.plan.text, { maxChars: 20_000 });
  return `@${run.plan.approvedBy} (a maintainer) approved this plan; carry it out:\n${text}`;
}

const STOPPED: Record<string, string> = {
  max_steps: 'it used all of its steps',
  max_time: 'it reached its time budget',
  max_tokens: 'it reached its token budget',
  max_cost: 'it reached its cost budget',
  failed: 'it failed',
  cancelled: 'it was cancelled',
};

/** `/autocoder continue`: the conversation so far comes before this message, so it only says where things stand. */
function continuation(run: GithubRun, continues: NonNullable<GithubRun['continues']>): string {
  const { owner, name } = run.trigger.repo;
  const what = run.mode === 'revision' ? `the revision of pull request #${run.pullNumber}` : `issue #${run.issueNumber}`;
  return (
    `Continue the work on ${what} in ${owner}/${name} from where the earlier run stopped: ${STOPPED[continues.reason] ?? 'it stopped'} before it was finished. ` +
    `The conversation so far is above. The working tree is branch ${run.branch} as it is on GitHub now, with what the earlier runs committed ` +
    `(a fresh checkout of ${run.trigger.repo.defaultBranch} when nothing was pushed yet); changes that were not committed are not there. ` +
    'Check what is already done, do what is left, then call finish with a summary of the whole change.'
  );
}

/**
 * The user message of a GitHub run. Only the maintainer's request is an instruction; the issue,
 * the diff and the review comments are sanitised and delimited as data.
 */
export function buildGithubPrompt(run: GithubRun, context: PromptContext): string {
  const { owner, name } = run.trigger.repo;
  const issue = asData(
    'untrusted-issue',
    `#${context.issue.number}: ${sanitizeUntrusted(context.issue.title, { maxChars: 500 })}\n\n${sanitizeUntrusted(context.issue.body)}`,
  );
  const parts: string[] = [];
  if (run.continues) {
    // The issue, the review and the plan are in the conversation already.
    parts.push(continuation(run, run.continues), request(run));
  } else if (run.mode === 'revision') {
    parts.push(
      `Revise pull request #${run.pullNumber} in ${owner}/${name} (branch ${run.branch}), which resolves issue #${run.issueNumber}. ` +
        'The working tree is at the head of that branch, with the earlier work (and any commits people added) in place. ' +
        'Make the changes asked for below, keep what already works, then call finish with a summary of this revision.',
      ...(run.plan ? [approvedPlan(run), request(run)] : [request(run) || 'Look at the review below and address it.']),
    );
    if (run.reviewComments.length > 0) {
      const comments = run.reviewComments
        .map((c) => {
          const where = `${c.path}${c.line ? `:${c.line}` : ''}`;
          const hunk = c.diffHunk ? `\n\`\`\`diff\n${truncateEnd(c.diffHunk, 2_000)}\n\`\`\`` : '';
          return `${where}${hunk}\n${sanitizeUntrusted(c.body, { maxChars: 4_000 })}`;
        })
        .join('\n\n');
      parts.push(`Review comments on lines of the diff:\n${asData('untrusted-review', comments)}`);
    }
    if (context.diff) parts.push(`The pull request's diff so far:\n${asData('untrusted-diff', truncateEnd(context.diff, MAX_DIFF_CHARS))}`);
    parts.push(`The issue it resolves:\n${issue}`);
  } else if (run.mode === 'plan') {
    parts.push(
      `Read the code of ${owner}/${name} and write a plan for resolving issue #${run.issueNumber}: the files to change, ` +
        'what to change in each and how to verify it. Do not change any file. Call finish with the plan as markdown.',
      request(run),
      issue,
    );
  } else {
    parts.push(
      `Resolve issue #${run.issueNumber} in ${owner}/${name}. The working tree is a fresh checkout of ${run.trigger.repo.defaultBranch}; ` +
        'your changes become a pull request.',
      approvedPlan(run),
      request(run),
      issue,
    );
  }
  return parts.filter(Boolean).join('\n\n');
}
