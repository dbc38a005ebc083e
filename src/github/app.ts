import type { Context, Probot } from 'probot';
import type { Logger } from 'pino';
import { newId } from '../util/ids.js';
import type { DeliveryInbox } from '../store/inbox.js';
import type { TaskStore } from '../store/tasks.js';
import { parseCommand } from './command.js';
import { parseMarker, planBoxTicked } from './render.js';
import { REPO_CONFIG_DEFAULTS } from './repo-config.js';
import { threadKey, type Trigger } from './trigger.js';
import type { WebhookDelivery, WebhookHandlers } from './webhook-receiver.js';

export interface GithubAppDeps {
  store: TaskStore;
  /** Where deliveries are stored before they are answered; it turns them into tasks. */
  inbox: DeliveryInbox;
  /** Takes stored triggers further, in the background (permission, configuration, queue). */
  intake: {
    process(taskId: string): void;
    /** True when a label is known to be the repository's autocoder label; otherwise undefined: look it up. */
    labelMatches(trigger: Trigger): boolean | undefined;
    checkLabel(trigger: Trigger): Promise<boolean>;
  };
  log: Logger;
}

type RepoPayload = {
  owner: { login: string };
  name: string;
  clone_url: string;
  default_branch: string;
  private: boolean;
};

function repoOf(repository: RepoPayload): Trigger['repo'] {
  return {
    owner: repository.owner.login,
    name: repository.name,
    cloneUrl: repository.clone_url,
    defaultBranch: repository.default_branch,
    private: repository.private,
  };
}

function senderOf(sender: { login: string; id: number; type: string }): Trigger['sender'] {
  return { login: sender.login, id: sender.id, type: sender.type };
}

type PullRequestPayload = {
  number: number;
  title: string;
  head: { ref: string; repo: { full_name: string } | null };
  base: { ref: string };
  body: string | null;
  user: { login: string } | null;
};

/** What a revision needs of the pull request a review event is about. */
function pullRequestOf(pr: PullRequestPayload): NonNullable<Trigger['pullRequest']> {
  return { headRef: pr.head.ref, headRepoFullName: pr.head.repo?.full_name, baseRef: pr.base.ref, body: pr.body ?? '', userLogin: pr.user?.login };
}

/** The issue a pull request works on: from autocoder's hidden marker in its body. */
function issueOfPullRequest(body: string | null | undefined, prNumber: number): number {
  const marker = parseMarker(body ?? '', 'pr');
  const issue = Number(marker?.issue);
  return Number.isInteger(issue) && issue > 0 ? issue : prNumber;
}

/** What every trigger carries: its event and delivery, the installation and repository, who sent it, and what it is on. */
function triggerOn(
  event: Trigger['event'],
  delivery: WebhookDelivery,
  payload: { installation?: { id: number }; repository: RepoPayload; sender: { login: string; id: number; type: string } },
  on: { number: number; isPullRequest: boolean; title: string; body?: string | null },
): Trigger {
  return {
    event,
    deliveryId: delivery.id,
    installationId: payload.installation!.id,
    repo: repoOf(payload.repository),
    number: on.number,
    isPullRequest: on.isPullRequest,
    title: on.title,
    body: on.body ?? '',
    sender: senderOf(payload.sender),
  };
}

/** A webhook's payload, as GitHub's schema types it (through Probot's context). */
type EventName = Exclude<Parameters<Probot['on']>[0], unknown[]>;
type Payload<E extends EventName> = Context<E>['payload'];

/** Probot's `context.isBot`: the delivery was caused by a bot (autocoder itself included). */
const isBot = (payload: { sender?: { type?: string } }) => payload.sender?.type === 'Bot';

/**
 * The webhook handlers, by `event.action`. They only decide whether a delivery is for autocoder,
 * store it, and hand it to the intake; every API call happens after GitHub has its answer. The
 * HTTP path reaches them through src/github/webhook-receiver.ts, `probot.receive` through
 * {@link onProbot}.
 */
export function createWebhookHandlers(deps: GithubAppDeps) {
  const { store, inbox, intake } = deps;

  /**
   * Stores the trigger, in the inbox (src/store/inbox.ts); resolves once it is committed, and the
   * receiver answers GitHub then. The inbox makes it a task a moment later: see below.
   */
  async function accept(trigger: Trigger, issueNumber: number): Promise<void> {
    await inbox.add({
      id: newId('run'),
      source: 'github',
      state: 'received',
      threadKey: threadKey(trigger.repo.owner, trigger.repo.name, issueNumber),
      deliveryId: trigger.deliveryId,
      repo: `${trigger.repo.owner}/${trigger.repo.name}`,
      issueNumber,
      title: trigger.title,
      request: trigger,
    });
  }

  // A stored delivery, now a task, goes on to the intake, once per delivery: GitHub's redeliveries
  // (the same delivery id) are recognised as the inbox moves them, and ignored.
  inbox.onMoved((task, inserted) => {
    if (!inserted) {
      deps.log.info({ delivery: task.deliveryId, repo: task.repo, issue: task.issueNumber }, 'delivery seen before; ignored');
      return;
    }
    if (deps.log.isLevelEnabled('debug')) deps.log.debug({ delivery: task.deliveryId, repo: task.repo, issue: task.issueNumber, taskId: task.id }, 'trigger accepted');
    intake.process(task.id);
  });

  /** A review or a review comment on a pull request: a revision of it, for the issue it resolves. */
  function acceptReview(
    delivery: WebhookDelivery,
    event: Trigger['event'],
    payload: { installation?: { id: number }; repository: RepoPayload; sender: { login: string; id: number; type: string }; pull_request: PullRequestPayload },
    commandText: string,
    comment: NonNullable<Trigger['comment']>,
  ): Promise<void> {
    const pr = payload.pull_request;
    const trigger: Trigger = {
      ...triggerOn(event, delivery, payload, { number: pr.number, isPullRequest: true, title: pr.title, body: pr.body }),
      commandText,
      comment,
      pullRequest: pullRequestOf(pr),
    };
    return accept(trigger, issueOfPullRequest(pr.body, pr.number));
  }

  /**
   * A comment on an issue or a pull request (a command, or a plan comment's box ticked): for the
   * issue itself, or for the issue the pull request resolves. An edit carries no command text.
   */
  function acceptIssueComment(
    delivery: WebhookDelivery,
    event: Trigger['event'],
    payload: {
      installation?: { id: number };
      repository: RepoPayload;
      sender: { login: string; id: number; type: string };
      issue: { number: number; title: string; body?: string | null; pull_request?: unknown };
    },
    comment: { id: number },
    commandText?: string,
  ): Promise<void> {
    const { issue } = payload;
    const isPullRequest = Boolean(issue.pull_request);
    const trigger: Trigger = {
      ...triggerOn(event, delivery, payload, { number: issue.number, isPullRequest, title: issue.title, body: issue.body }),
      ...(commandText === undefined ? {} : { commandText }),
      comment: { id: comment.id, kind: 'issue_comment' },
    };
    return accept(trigger, isPullRequest ? issueOfPullRequest(issue.body, issue.number) : issue.number);
  }

  const handlers = {
    async 'issues.labeled'(delivery: WebhookDelivery<Payload<'issues.labeled'>>) {
      const { payload } = delivery;
      if (isBot(payload) || !payload.label || payload.issue.pull_request) return;
      const { issue } = payload;
      const trigger: Trigger = {
        ...triggerOn('issues.labeled', delivery, payload, { number: issue.number, isPullRequest: false, title: issue.title, body: issue.body }),
        label: payload.label.name,
      };
      const known = trigger.label === REPO_CONFIG_DEFAULTS.label || intake.labelMatches(trigger);
      if (known) {
        await accept(trigger, payload.issue.number);
      } else if (known === undefined) {
        // Another label may be this repository's configured one: look it up after answering.
        void intake
          .checkLabel(trigger)
          .then((matches) => (matches ? accept(trigger, payload.issue.number) : undefined))
          .catch((error: unknown) => deps.log.error({ err: error, delivery: delivery.id }, 'could not store the trigger'));
      }
    },

    async 'issue_comment.created'(delivery: WebhookDelivery<Payload<'issue_comment.created'>>) {
      const { payload } = delivery;
      if (isBot(payload) || payload.comment.user?.type === 'Bot') return;
      if (!parseCommand(payload.comment.body)) return;
      await acceptIssueComment(delivery, 'issue_comment.created', payload, payload.comment, payload.comment.body);
    },

    // A plan comment's approval box ticked: GitHub sends the edited body and the one before it.
    async 'issue_comment.edited'(delivery: WebhookDelivery<Payload<'issue_comment.edited'>>) {
      const { payload } = delivery;
      // autocoder editing its own plan comment (to say who approved it) must never approve it again.
      if (isBot(payload) || payload.sender.type === 'Bot') return;
      const comment = payload.comment;
      if (comment.user?.type !== 'Bot') return;
      const marker = parseMarker(comment.body, 'plan');
      if (!marker?.run || !planBoxTicked(payload.changes?.body?.from, comment.body)) return;
      // Only a plan autocoder posted: the run the marker names wrote this very comment.
      if (store.get(marker.run)?.data.planCommentId !== comment.id) return;
      await acceptIssueComment(delivery, 'issue_comment.edited', payload, comment);
    },

    async 'pull_request_review_comment.created'(delivery: WebhookDelivery<Payload<'pull_request_review_comment.created'>>) {
      const { payload } = delivery;
      if (isBot(payload) || payload.comment.user?.type === 'Bot') return;
      if (!parseCommand(payload.comment.body)) return;
      await acceptReview(delivery, 'pull_request_review_comment.created', payload, payload.comment.body, {
        id: payload.comment.id,
        kind: 'review_comment',
        path: payload.comment.path,
        line: payload.comment.line ?? payload.comment.original_line ?? null,
        diffHunk: payload.comment.diff_hunk,
      });
    },

    async 'pull_request_review.submitted'(delivery: WebhookDelivery<Payload<'pull_request_review.submitted'>>) {
      const { payload } = delivery;
      if (isBot(payload) || !payload.review.body || !parseCommand(payload.review.body)) return;
      await acceptReview(delivery, 'pull_request_review.submitted', payload, payload.review.body, { id: payload.review.id, kind: 'review' });
    },
  };
  return handlers;
}

/** The handlers as a Probot app function: `probot.receive` (and Probot's own middleware) reach them so. */
export function onProbot(handlers: WebhookHandlers) {
  return (app: Probot): void => {
    for (const [name, handler] of Object.entries(handlers)) {
      app.on(name as EventName, (context: Context) => handler({ id: context.id, name: context.name, payload: context.payload as never }));
    }
  };
}

/** The webhook handlers as a Probot app function (see {@link createWebhookHandlers}). */
export function createGithubApp(deps: GithubAppDeps) {
  return onProbot(createWebhookHandlers(deps));
}
