import Bottleneck from 'bottleneck';
import { ProbotOctokit } from 'probot';

/** A pace for one kind of write: `burst` at once after a quiet spell, then one per `everyMs`. */
export interface WritePace {
  burst: number;
  everyMs: number;
}

/**
 * GitHub's guidance for REST writes ("Best practices for using the REST API" and "Rate limits for
 * the REST API" in GitHub's docs): make writes one at a time, not concurrently; when making a large
 * number of POST, PATCH, PUT or DELETE requests, wait at least a second between them; and no more
 * than 80 content-generating requests (comments, issues, pull requests) a minute.
 *
 * Octokit's throttling plugin, as Probot sets it up, spaces every write 1 s after the one before
 * and every notifying write 3 s, from the first on: one run's four or five writes (the progress
 * comment, 👀, an edit, the pull request) then wait 3-4 s though nothing comes near a limit. These
 * paces keep the plugin's sustained rates (1 write/s, 1 notifying write per 3 s: at most 25 in any
 * minute) and its one-at-a-time rule, and let a short burst through after a quiet spell. Rate
 * limit answers (403/429 with retry-after) are still handled by the plugin as before.
 */
export const GITHUB_WRITE_PACE: { write: WritePace; notifications: WritePace } = {
  write: { burst: 10, everyMs: 1_000 },
  notifications: { burst: 5, everyMs: 3_000 },
};

/** A token bucket per limiter key, one job at a time (the plugin keys by `throttle.id`: one per process here). */
function bucket(pace: WritePace): Bottleneck.Group {
  return new Bottleneck.Group({
    maxConcurrent: 1,
    reservoir: pace.burst,
    reservoirIncreaseInterval: pace.everyMs,
    reservoirIncreaseAmount: 1,
    reservoirIncreaseMaximum: pace.burst,
  });
}

/**
 * Probot's Octokit (or one derived from it) whose write limiters follow {@link GITHUB_WRITE_PACE}.
 * The limiters are made here, once, and shared by every client the class creates, as the plugin's
 * own are. A client built with throttling off stays off.
 */
export function pacedOctokit(base: typeof ProbotOctokit = ProbotOctokit, pace = GITHUB_WRITE_PACE): typeof ProbotOctokit {
  const write = bucket(pace.write);
  const notifications = bucket(pace.notifications);
  type Options = { throttle?: { enabled?: boolean } & Record<string, unknown> } & Record<string, unknown>;
  return base.defaults((options: Options) =>
    options.throttle?.enabled === false ? options : { ...options, throttle: { ...options.throttle, write, notifications } },
  ) as typeof ProbotOctokit;
}
