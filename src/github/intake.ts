import type { Logger } from 'pino';
import type { TaskRecord, TaskStore } from '../store/tasks.js';
import { ACTIVE_STATES } from '../store/tasks.js';
import type { Redactor } from '../util/redact.js';
import { helpText, parseCommand, type Command } from './command.js';
import { dailyOverrun, dailyUsage, renderDailyBudgetReply, type BudgetSettings } from './budgets.js';
import { branchForNewRun, earlierPullRequest, renderClosedPullRequestReply } from './earlier-pull-request.js';
import { canWrite, type GetOctokit, type Octokit } from './octokit.js';
import { markPlanApproved, planFromComment, renderProgressComment } from './render.js';
import { parseRepoConfig, renderConfigError, REPO_CONFIG_DEFAULTS, REPO_CONFIG_PATH, type RepoConfig } from './repo-config.js';
import { createCommentOnce } from './create-comment-once.js';
import { branchForIssue, type GithubRun, type Trigger } from './trigger.js';

export interface IntakeDeps {
  store: TaskStore;
  getOctokit: GetOctokit;
  /** A queued task is ready: start it when a slot is free. */
  notifyQueue: () => void;
  /** Stops a running task; returns false when it does not run in this process. */
  abortTask: (taskId: string) => boolean;
  defaultModel: string;
  redact: Redactor;
  log: Logger;
  /** The operator's budgets: the daily ones turn triggers away here. */
  budgets?: BudgetSettings;
}

type ConfigOutcome = { ok: true; config: RepoConfig } | { ok: false; errors: string[] };

/** Probot's config plugin, as `context.config()` uses it: the file from the default branch only. */
async function loadConfig(octokit: Octokit, trigger: Trigger, defaultModel: string): Promise<ConfigOutcome> {
  let raw: unknown;
  try {
    const { config } = await octokit.config.get({ owner: trigger.repo.owner, repo: trigger.repo.name, path: REPO_CONFIG_PATH });
    raw = config;
  } catch (error) {
    // GitHub failing is not the file being wrong: thrown, so the intake tries again.
    const status = (error as { status?: number }).status;
    if (status !== undefined && (status >= 500 || status === 429)) throw error;
    const message = error instanceof Error ? error.message : String(error);
    return { ok: false, errors: [`the file could not be read: ${message}`] };
  }
  const isEmpty = raw === null || raw === undefined || (typeof raw === 'object' && Object.keys(raw as object).length === 0);
  return parseRepoConfig(isEmpty ? {} : raw, { model: defaultModel });
}

/** `--attempts` over the configuration's `attempts`, and `--models`; nothing for a single attempt with the configured model. */
function attemptOptions(command: Extract<Command, { kind: 'run' }>, config: RepoConfig): Pick<GithubRun, 'attempts' | 'models'> {
  const attempts = command.attempts ?? config.attempts;
  return { ...(attempts > 1 ? { attempts } : {}), ...(command.models?.length ? { models: command.models } : {}) };
}

function describeState(task: TaskRecord): string {
  const progress = task.data.progress as { phase?: string; step?: number; currentAction?: string } | undefined;
  switch (task.state) {
    case 'received':
    case 'queued':
      return `run \`${task.id}\` is queued`;
    case 'running':
      return `run \`${task.id}\` is running${progress?.step ? ` (step ${progress.step}${progress.currentAction ? `: ${progress.currentAction}` : ''})` : ''}`;
    case 'finished':
      return `the last run \`${task.id}\` ended: ${task.endReason}${task.data.pullRequestUrl ? ` — ${task.data.pullRequestUrl}` : ''}`;
    default:
      return `the last request \`${task.id}\` was ${task.state}`;
  }
}

/**
 * The first background step for every stored trigger: the permission gate, the repository's
 * configuration, the commands that need no run (help, status, cancel), the 👀 reaction and the
 * progress comment; then the run is queued.
 */
export function createIntake(deps: IntakeDeps) {
  const { store, log } = deps;
  const inFlight = new Set<string>();
  const pending = new Set<Promise<void>>();
  // Writes to GitHub go out about one a second anyway (Probot's throttling): a burst of deliveries
  // is taken in a few at a time rather than all at once, each holding a client and memory.
  const MAX_AT_ONCE = 4;
  const waiting: string[] = [];
  let active = 0;
  let stopped = false;
  const startNext = () => {
    while (!stopped && active < MAX_AT_ONCE && waiting.length > 0) {
      const taskId = waiting.shift()!;
      active++;
      const work = processWithRetries(taskId)
        .catch((error: unknown) => log.error({ err: error, taskId }, 'could not take the trigger in'))
        .finally(() => {
          active--;
          inFlight.delete(taskId);
          pending.delete(work);
          startNext();
        });
      pending.add(work);
    }
  };
  const knownLabels = new Map<string, string>();

  async function reply(octokit: Octokit, trigger: Trigger, body: string): Promise<void> {
    await octokit.rest.issues.createComment({
      owner: trigger.repo.owner,
      repo: trigger.repo.name,
      issue_number: trigger.number,
      body: deps.redact(body),
    });
  }

  async function react(octokit: Octokit, trigger: Trigger): Promise<void> {
    const repo = { owner: trigger.repo.owner, repo: trigger.repo.name, content: 'eyes' as const };
    const comment = trigger.comment;
    if (comment?.kind === 'issue_comment') {
      await octokit.rest.reactions.createForIssueComment({ ...repo, comment_id: comment.id });
    } else if (comment?.kind === 'review_comment') {
      await octokit.rest.reactions.createForPullRequestReviewComment({ ...repo, comment_id: comment.id });
    } else {
      // Labels and reviews: reviews cannot carry reactions, so the issue or pull request does.
      await octokit.rest.reactions.createForIssue({ ...repo, issue_number: trigger.number });
    }
  }

  function finishCommand(task: TaskRecord, state: 'done' | 'rejected', note?: string): void {
    store.update(task.id, { state, finishedAt: new Date().toISOString(), ...(note ? { error: note } : {}) });
  }

  // What the intake needs to know of the task's thread (the other tasks on its issue or pull
  // request), each an indexed query: a thread can hold thousands of tasks.
  const thread = {
    /** The thread's newest run (a task the intake queued) in any state. */
    lastRun: (task: TaskRecord) => (task.threadKey ? store.lastRunInThread(task.threadKey, task.id) : undefined),
    /** The newest run that makes changes: not a plan. */
    lastChangeRun: (task: TaskRecord) => (task.threadKey ? store.lastChangeRunInThread(task.threadKey, task.id) : undefined),
    /** Runs received, queued or running, oldest first. */
    activeRuns: (task: TaskRecord) => (task.threadKey ? store.activeRunsInThread(task.threadKey, task.id) : []),
    /** Tasks with a plan comment and plan runs under way, oldest first. */
    plans: (task: TaskRecord) => (task.threadKey ? store.plansInThread(task.threadKey, task.id) : []),
    /** The newest pull request the thread's runs opened. */
    lastPullRequest: (task: TaskRecord) => (task.threadKey ? store.lastPullRequestInThread(task.threadKey, task.id) : undefined),
  };

  async function cancelThread(octokit: Octokit, task: TaskRecord, trigger: Trigger): Promise<void> {
    const active = thread.activeRuns(task);
    if (active.length === 0) {
      await reply(octokit, trigger, 'There is no queued or running autocoder run here to cancel.');
      return;
    }
    for (const target of active) {
      store.update(target.id, { cancelRequested: true });
      if (target.state === 'running' && deps.abortTask(target.id)) continue;
      if (target.state !== 'running') {
        // A queued run never started: it ends here, and its progress comment says so.
        store.update(target.id, { state: 'finished', endReason: 'cancelled', finishedAt: new Date().toISOString() });
        const commentId = target.data.progressCommentId as number | undefined;
        if (commentId) {
          await octokit.rest.issues.updateComment({
            owner: trigger.repo.owner,
            repo: trigger.repo.name,
            comment_id: commentId,
            body: renderProgressComment({ phase: 'cancelled', runId: target.id, reason: `Cancelled by @${trigger.sender.login} before it started.`, redact: deps.redact }),
          });
        }
      }
    }
    await reply(octokit, trigger, `Cancelling ${active.map((t) => `\`${t.id}\``).join(', ')} as @${trigger.sender.login} asked.`);
  }

  /** Works out what run a trigger asks for, or answers why there is none. */
  async function planRun(
    octokit: Octokit,
    task: TaskRecord,
    trigger: Trigger,
    command: Extract<Command, { kind: 'run' | 'plan' }>,
    config: RepoConfig,
  ): Promise<GithubRun | undefined> {
    const issueNumber = task.issueNumber ?? trigger.number;
    const base = {
      trigger,
      issueNumber,
      instructions: command.instructions,
      reviewComments: [] as GithubRun['reviewComments'],
      progressNumber: trigger.number,
      config: config as unknown as Record<string, unknown>,
      // Best of N is for changes: a plan is one answer.
      ...(command.kind === 'run' ? attemptOptions(command, config) : {}),
    };
    if (!trigger.isPullRequest) {
      return { ...base, mode: command.kind === 'plan' ? 'plan' : 'run', branch: branchForIssue(issueNumber) };
    }
    // On a pull request: autocoder revises only the ones it opened, on their own branch.
    let pr = trigger.pullRequest;
    if (!pr) {
      const { data } = await octokit.rest.pulls.get({ owner: trigger.repo.owner, repo: trigger.repo.name, pull_number: trigger.number });
      pr = { headRef: data.head.ref, headRepoFullName: data.head.repo?.full_name, baseRef: data.base.ref, body: data.body ?? '', userLogin: data.user?.login };
    }
    const sameRepo = !pr.headRepoFullName || pr.headRepoFullName.toLowerCase() === `${trigger.repo.owner}/${trigger.repo.name}`.toLowerCase();
    if (!pr.headRef.startsWith('autocoder/') || !sameRepo) {
      await reply(octokit, trigger, 'autocoder only revises pull requests it opened. To have it work on something here, open an issue and label it, or comment `/autocoder` there.');
      return undefined;
    }
    if (trigger.comment?.kind === 'review_comment') {
      base.reviewComments = [{ path: trigger.comment.path ?? '', line: trigger.comment.line, diffHunk: trigger.comment.diffHunk, body: trigger.commandText ?? '' }];
    } else if (trigger.comment?.kind === 'review') {
      const comments = await octokit.paginate(octokit.rest.pulls.listCommentsForReview, {
        owner: trigger.repo.owner,
        repo: trigger.repo.name,
        pull_number: trigger.number,
        review_id: trigger.comment.id,
        per_page: 100,
      });
      base.reviewComments = comments.map((c) => ({ path: c.path, line: c.line ?? c.original_line ?? null, diffHunk: c.diff_hunk, body: c.body }));
    }
    return { ...base, mode: command.kind === 'plan' ? 'plan' : 'revision', branch: pr.headRef, pullNumber: trigger.number };
  }

  /**
   * The last word before a run is queued: the repository's daily budgets, and the issue's earlier
   * pull request (src/github/earlier-pull-request.ts), which also picks the branch. Undefined:
   * the trigger was answered instead, and the task is rejected.
   */
  async function admitRun(octokit: Octokit, task: TaskRecord, trigger: Trigger, run: GithubRun): Promise<GithubRun | undefined> {
    const repoName = `${trigger.repo.owner}/${trigger.repo.name}`;
    const budgets = deps.budgets;
    if (budgets && (budgets.dailyRuns !== undefined || budgets.dailyTokens !== undefined)) {
      const over = dailyOverrun(budgets, dailyUsage(store, repoName, new Date(), task.id));
      if (over) {
        await reply(octokit, trigger, renderDailyBudgetReply(over, repoName));
        finishCommand(task, 'rejected', `the daily ${over.budget} budget of ${repoName} is spent`);
        return undefined;
      }
    }
    // A continued run goes on where it stopped, on its own branch, by definition.
    if (run.mode !== 'run' || run.continues) return run;
    const earlier = await earlierPullRequest(octokit, { owner: trigger.repo.owner, repo: trigger.repo.name }, thread.lastPullRequest(task));
    if (earlier?.state === 'closed' && !earlier.merged && trigger.event === 'issues.labeled') {
      await reply(octokit, trigger, renderClosedPullRequestReply(earlier, trigger.label ?? REPO_CONFIG_DEFAULTS.label));
      finishCommand(task, 'rejected', `pull request #${earlier.number} was closed without merging`);
      return undefined;
    }
    return { ...run, branch: branchForNewRun(run, earlier) };
  }

  async function queueRun(octokit: Octokit, task: TaskRecord, trigger: Trigger, planned: GithubRun): Promise<void> {
    const run = await admitRun(octokit, task, trigger, planned);
    if (!run) return;
    const position = store.countInState('queued') + 1;
    // The comment first and the run queued before the 👀: writes to GitHub take turns (Octokit's
    // write limiter), and the run needs the comment's id, not the reaction.
    const comment = await createCommentOnce(
      octokit,
      {
        owner: trigger.repo.owner,
        repo: trigger.repo.name,
        issue_number: run.progressNumber,
        body: renderProgressComment({ phase: 'queued', runId: task.id, queuePosition: position, redact: deps.redact }),
      },
      { kind: 'progress', attributes: { run: task.id } },
    );
    store.update(task.id, {
      state: 'queued',
      model: run.models?.length ? run.models.join(', ') : String(run.config.model ?? deps.defaultModel),
      data: { run, progressCommentId: comment.id, progress: { phase: 'queued' } },
    });
    deps.notifyQueue();
    await react(octokit, trigger).catch((error) => log.warn({ err: error, taskId: task.id }, 'could not add the reaction'));
  }

  async function handle(task: TaskRecord): Promise<void> {
    const trigger = task.request as Trigger;
    const octokit = await deps.getOctokit(trigger.installationId);
    const command: Command =
      trigger.event === 'issues.labeled'
        ? { kind: 'run', instructions: '' }
        : trigger.event === 'issue_comment.edited'
          ? { kind: 'approve', instructions: '' }
          : (parseCommand(trigger.commandText ?? '') ?? { kind: 'help' });

    if (command.kind === 'help' || command.kind === 'unknown' || command.kind === 'invalid') {
      const lead = command.kind === 'unknown' ? `\`${command.word}\` is not an autocoder command.\n\n` : command.kind === 'invalid' ? `${command.message}\n\n` : '';
      await reply(octokit, trigger, lead + helpText(knownLabels.get(repoKey(trigger)) ?? REPO_CONFIG_DEFAULTS.label));
      return finishCommand(task, 'done');
    }

    // Status is for anyone who can comment: it tells what the progress comment shows anyway.
    if (command.kind === 'status') {
      const last = thread.lastRun(task);
      await reply(octokit, trigger, last ? `autocoder: ${describeState(last)}.` : 'autocoder has not run here yet.');
      return finishCommand(task, 'done');
    }

    // A label is autocoder's only when the configuration says so; any other gets no answer at all,
    // whoever added it (a triager labelling `autocoder` in a repository that renamed the label).
    let configured: ConfigOutcome | undefined;
    if (trigger.event === 'issues.labeled') {
      configured = await loadConfig(octokit, trigger, deps.defaultModel);
      if (configured.ok) {
        knownLabels.set(repoKey(trigger), configured.config.label);
        if (trigger.label !== configured.config.label) return finishCommand(task, 'done');
      }
    }

    if (!(await canWrite(octokit, trigger.repo, trigger.sender.login))) {
      await reply(octokit, trigger, `@${trigger.sender.login} only people with write access to this repository can start or control autocoder runs.`);
      return finishCommand(task, 'rejected', 'the sender has no write access');
    }

    if (command.kind === 'cancel') {
      await cancelThread(octokit, task, trigger);
      return finishCommand(task, 'done');
    }

    configured ??= await loadConfig(octokit, trigger, deps.defaultModel);
    if (!configured.ok) {
      await reply(octokit, trigger, renderConfigError(configured.errors));
      return finishCommand(task, 'rejected', 'invalid repository configuration');
    }
    const config = configured.config;
    knownLabels.set(repoKey(trigger), config.label);

    if (command.kind === 'retry') {
      const previous = thread.lastRun(task);
      if (!previous) {
        await reply(octokit, trigger, 'There is no earlier autocoder run here to retry.');
        return finishCommand(task, 'done');
      }
      if (ACTIVE_STATES.includes(previous.state)) {
        await reply(octokit, trigger, `autocoder: ${describeState(previous)}; it will not be started twice.`);
        return finishCommand(task, 'done');
      }
      const run = { ...(previous.data.run as GithubRun), trigger, config: config as unknown as Record<string, unknown> };
      return queueRun(octokit, task, trigger, run);
    }

    if (command.kind === 'approve') return approvePlan(octokit, task, trigger, command, config);
    if (command.kind === 'continue') return continueRun(octokit, task, trigger, command, config);

    const run = await planRun(octokit, task, trigger, command, config);
    if (!run) return finishCommand(task, 'rejected', 'not a pull request autocoder opened');
    await queueRun(octokit, task, trigger, run);
  }

  /**
   * `/autocoder approve`, or a writer ticking a plan comment's box: an ordinary run that carries
   * out the plan as the comment reads now, so a writer's edits are what runs.
   */
  async function approvePlan(octokit: Octokit, task: TaskRecord, trigger: Trigger, command: Extract<Command, { kind: 'approve' }>, config: RepoConfig): Promise<void> {
    // The thread's plan comments and plan runs under way, in thread order: all this looks at.
    const planning = thread.plans(task);
    const plans = planning.filter((t) => typeof t.data.planCommentId === 'number');
    // A ticked box approves that comment; the command approves the thread's latest plan.
    const planTask = trigger.event === 'issue_comment.edited' ? plans.find((t) => t.data.planCommentId === trigger.comment?.id) : plans.at(-1);
    const writing = planning.filter((t) => (t.data.run as GithubRun | undefined)?.mode === 'plan' && ACTIVE_STATES.includes(t.state)).at(-1);
    if (!planTask || (writing && trigger.event !== 'issue_comment.edited' && planning.indexOf(writing) > planning.indexOf(planTask))) {
      await reply(
        octokit,
        trigger,
        writing
          ? `autocoder: ${describeState(writing)} to write the plan; approve it once it is posted.`
          : 'There is no plan here to approve. Comment `/autocoder plan` first: autocoder answers with a plan you can edit, then approve.',
      );
      return finishCommand(task, 'done');
    }
    const alreadyApproved = () => {
      const current = store.get(planTask.id)!;
      const approved = typeof current.data.approvedRunId === 'string' ? store.get(current.data.approvedRunId) : undefined;
      // This task itself when the intake tries again after a failure.
      return approved && approved.id !== task.id && ACTIVE_STATES.includes(approved.state) ? approved : undefined;
    };
    const answerApproved = async (approved: TaskRecord) => {
      await reply(octokit, trigger, `This plan was approved already (by @${String(store.get(planTask.id)!.data.approvedBy ?? 'someone')}); ${describeState(approved)}, so it is not started twice.`);
      return finishCommand(task, 'done');
    };
    const before = alreadyApproved();
    if (before) return answerApproved(before);

    const commentId = planTask.data.planCommentId as number;
    const repo = { owner: trigger.repo.owner, repo: trigger.repo.name };
    let body: string;
    try {
      body = (await octokit.rest.issues.getComment({ ...repo, comment_id: commentId })).data.body ?? '';
    } catch (error) {
      if ((error as { status?: number }).status !== 404) throw error;
      await reply(octokit, trigger, 'The plan comment was deleted, so there is nothing to approve. Comment `/autocoder plan` for a new plan.');
      return finishCommand(task, 'done');
    }
    const plan = planFromComment(body);
    if (!plan) {
      await reply(octokit, trigger, 'The plan comment has no plan left in it to carry out. Write one into it, or comment `/autocoder plan` for a new one.');
      return finishCommand(task, 'done');
    }
    // Checked again and claimed with nothing awaited in between: two approvals at once start one run.
    const raced = alreadyApproved();
    if (raced) return answerApproved(raced);
    store.update(planTask.id, { data: { approvedRunId: task.id, approvedBy: trigger.sender.login } });

    const planned = planTask.data.run as GithubRun;
    const revision = planned.pullNumber !== undefined;
    const run: GithubRun = {
      trigger,
      mode: revision ? 'revision' : 'run',
      issueNumber: planned.issueNumber,
      pullNumber: planned.pullNumber,
      branch: revision ? planned.branch : branchForIssue(planned.issueNumber),
      instructions: command.instructions,
      reviewComments: [],
      progressNumber: trigger.number,
      config: config as unknown as Record<string, unknown>,
      plan: { text: plan, commentId, planRunId: planTask.id, approvedBy: trigger.sender.login },
    };
    await queueRun(octokit, task, trigger, run);
    // Turned away (a daily budget): the plan stays as it was, to be approved again.
    if (store.get(task.id)?.state === 'rejected') return;
    // The comment says who approved it and which run carries it out. autocoder's own edit comes
    // back as a webhook, which the handler ignores: its sender is the bot.
    await octokit.rest.issues
      .updateComment({ ...repo, comment_id: commentId, body: markPlanApproved(body, { by: trigger.sender.login, runId: task.id, redact: deps.redact }) })
      .catch((error) => log.warn({ err: error, taskId: task.id }, 'could not mark the plan comment approved'));
  }

  /** `/autocoder continue`: the thread's last run, stopped before it was finished, goes on on its branch with its conversation. */
  async function continueRun(octokit: Octokit, task: TaskRecord, trigger: Trigger, command: Extract<Command, { kind: 'continue' }>, config: RepoConfig): Promise<void> {
    const last = thread.lastChangeRun(task);
    if (!last) {
      await reply(octokit, trigger, 'There is no autocoder run here to continue. Comment `/autocoder` to start one.');
      return finishCommand(task, 'done');
    }
    if (ACTIVE_STATES.includes(last.state)) {
      await reply(octokit, trigger, `autocoder: ${describeState(last)}; there is nothing to continue until it stops.`);
      return finishCommand(task, 'done');
    }
    if (last.endReason === 'completed' || !last.endReason) {
      const url = last.data.pullRequestUrl as string | undefined;
      await reply(
        octokit,
        trigger,
        `The last run \`${last.id}\` finished its work${url ? ` (${url})` : ''}, so there is nothing to continue. ` +
          `To change it, comment \`/autocoder <what to change>\`${url ? ' on the pull request' : ''}.`,
      );
      return finishCommand(task, 'done');
    }
    const previous = last.data.run as GithubRun;
    const run: GithubRun = {
      ...previous,
      trigger,
      instructions: command.instructions,
      // The review and the plan are in the conversation already.
      reviewComments: [],
      plan: undefined,
      // One conversation goes on: not best of N again.
      attempts: undefined,
      models: undefined,
      progressNumber: trigger.number,
      config: config as unknown as Record<string, unknown>,
      continues: { runId: last.id, reason: last.endReason },
    };
    await queueRun(octokit, task, trigger, run);
  }

  function repoKey(trigger: Trigger): string {
    return `${trigger.repo.owner}/${trigger.repo.name}`.toLowerCase();
  }

  async function processWithRetries(taskId: string): Promise<void> {
    const task = store.get(taskId);
    if (!task || task.state !== 'received') return;
    const taskLog = log.child({ taskId, repo: task.repo, issue: task.issueNumber });
    for (let attempt = 1; ; attempt++) {
      try {
        await handle(store.get(taskId)!);
        return;
      } catch (error) {
        // Shutting down (the store may be closed already): the trigger stays received, for the next start.
        if (stopped) return;
        const status = (error as { status?: number }).status;
        const transient = status === undefined || status >= 500 || status === 429;
        if (!transient || attempt >= 3) {
          taskLog.error({ err: error, attempt }, 'could not take the trigger in');
          store.update(taskId, {
            state: 'finished',
            endReason: 'failed',
            error: deps.redact(error instanceof Error ? error.message : String(error)),
            finishedAt: new Date().toISOString(),
          });
          return;
        }
        taskLog.warn({ err: error, attempt }, 'intake failed; trying again');
        await new Promise((resolve) => setTimeout(resolve, 500 * 2 ** attempt));
      }
    }
  }

  return {
    /** Takes a stored trigger further in the background; safe to call twice. */
    process(taskId: string): void {
      if (inFlight.has(taskId)) return;
      inFlight.add(taskId);
      waiting.push(taskId);
      startNext();
    },
    /**
     * True when a label is the repository's autocoder label as last seen, else undefined (look it
     * up): a remembered mismatch may be stale, since the file can rename the label at any time,
     * while a stale match is harmless because the intake checks the label again.
     */
    labelMatches(trigger: Trigger): boolean | undefined {
      return knownLabels.get(repoKey(trigger)) === trigger.label ? true : undefined;
    },
    /** Reads the configuration to tell whether a label is this repository's autocoder label. */
    async checkLabel(trigger: Trigger): Promise<boolean> {
      try {
        const octokit = await deps.getOctokit(trigger.installationId);
        const configured = await loadConfig(octokit, trigger, deps.defaultModel);
        if (!configured.ok) return false;
        knownLabels.set(repoKey(trigger), configured.config.label);
        return configured.config.label === trigger.label;
      } catch (error) {
        log.warn({ err: error }, 'could not read the repository configuration for a label');
        return false;
      }
    },
    /** Triggers stored but not taken in when the process stopped. */
    recover(): void {
      for (const task of store.inState('received')) this.process(task.id);
    },
    async idle(): Promise<void> {
      while (pending.size > 0) await Promise.all([...pending]);
    },
    /**
     * Starts nothing more and waits, at most `timeoutMs`, for what is under way (shutting down).
     * Triggers not taken further stay `received` in the store, and `recover` takes them at the
     * next start.
     */
    async stop(timeoutMs = 10_000): Promise<void> {
      stopped = true;
      waiting.length = 0;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.idle(), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
      clearTimeout(timer);
    },
  };
}

export type Intake = ReturnType<typeof createIntake>;
