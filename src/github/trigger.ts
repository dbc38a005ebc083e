import { z } from 'zod';
import { endReasonSchema } from '../engine/events.js';

/**
 * What a webhook asked for, as the handler stored it before answering GitHub. Everything later
 * (permission, configuration, the run) starts from this record, so a restart loses nothing.
 */
export const triggerSchema = z.object({
  /** `issue_comment.edited`: a writer ticked the approval box of a plan comment autocoder wrote. */
  event: z.enum(['issues.labeled', 'issue_comment.created', 'issue_comment.edited', 'pull_request_review_comment.created', 'pull_request_review.submitted']),
  deliveryId: z.string(),
  installationId: z.number().int(),
  repo: z.object({
    owner: z.string(),
    name: z.string(),
    cloneUrl: z.string(),
    defaultBranch: z.string(),
    private: z.boolean().optional(),
  }),
  /** The issue or pull request the trigger happened on. */
  number: z.number().int(),
  isPullRequest: z.boolean(),
  title: z.string(),
  body: z.string(),
  /** For a label: its name. */
  label: z.string().optional(),
  sender: z.object({ login: z.string(), id: z.number().int(), type: z.string() }),
  /** The text that held the `/autocoder` command (a comment or review body), if any. */
  commandText: z.string().optional(),
  comment: z
    .object({
      id: z.number().int(),
      kind: z.enum(['issue_comment', 'review_comment', 'review']),
      path: z.string().optional(),
      line: z.number().int().nullable().optional(),
      diffHunk: z.string().optional(),
    })
    .optional(),
  pullRequest: z
    .object({
      headRef: z.string(),
      headRepoFullName: z.string().optional(),
      baseRef: z.string(),
      body: z.string(),
      userLogin: z.string().optional(),
    })
    .optional(),
});
export type Trigger = z.infer<typeof triggerSchema>;

/** What a queued GitHub run does, decided at intake. */
export const githubRunSchema = z.object({
  trigger: triggerSchema,
  mode: z.enum(['run', 'revision', 'plan']),
  /** The issue the work is for; a revision's pull request points back to it. */
  issueNumber: z.number().int(),
  /** For a revision: the pull request and its branch. */
  pullNumber: z.number().int().optional(),
  branch: z.string(),
  instructions: z.string(),
  /** Review comments a revision is given (only from the reviewer who asked). */
  reviewComments: z
    .array(z.object({ path: z.string(), line: z.number().int().nullable().optional(), diffHunk: z.string().optional(), body: z.string() }))
    .default([]),
  /** Where progress is reported: the issue or the pull request. */
  progressNumber: z.number().int(),
  config: z.record(z.string(), z.unknown()),
  /** An approved plan that the run carries out: the plan comment's text as it was at approval. */
  plan: z.object({ text: z.string(), commentId: z.number().int(), planRunId: z.string(), approvedBy: z.string() }).optional(),
  /** Goes on from where an earlier run stopped: its branch and its conversation. */
  continues: z.object({ runId: z.string(), reason: endReasonSchema }).optional(),
  /** Best of N: agents that work on it at once (`--attempts`, else `attempts` in the config); absent = 1. */
  attempts: z.number().int().min(1).max(5).optional(),
  /** `--models a,b`: attempt k uses the k-th, round-robin; absent = the configured model. */
  models: z.array(z.string().min(1)).optional(),
});
export type GithubRun = z.infer<typeof githubRunSchema>;

export function threadKey(owner: string, name: string, issueNumber: number): string {
  return `${owner}/${name}#${issueNumber}`.toLowerCase();
}

export function branchForIssue(issueNumber: number): string {
  return `autocoder/issue-${issueNumber}`;
}

/** Where attempt `attempt` of a best-of-N run for an issue is kept when it is not the one published. */
export function branchForAttempt(issueNumber: number, attempt: number): string {
  return `autocoder/issue-${issueNumber}-attempt-${attempt}`;
}

/** The names `branchForAttempt` makes, and only those: the sweep deletes nothing else. */
export const ATTEMPT_BRANCH_PATTERN = /^autocoder\/issue-\d+-attempt-\d+$/;
