import type { Octokit } from './octokit.js';

/** Who autocoder's commits and comments are by: the app's bot user. */
export interface BotIdentity {
  login: string;
  name: string;
  email: string;
}

/**
 * Looks the bot up once (`GET /app`, then `GET /users/<slug>[bot]`) and remembers it. The email is
 * GitHub's no-reply address for the bot, so commits show the app's avatar.
 */
export function createIdentity(appOctokit: () => Promise<Octokit>) {
  let identity: Promise<BotIdentity> | undefined;
  /** `installation`: user look-ups need an installation token; `GET /app` needs the app's JWT. */
  return (installation: Octokit): Promise<BotIdentity> => {
    identity ??= (async () => {
      const { data: app } = await (await appOctokit()).rest.apps.getAuthenticated();
      const slug = app?.slug ?? 'autocoder';
      const login = `${slug}[bot]`;
      const { data: user } = await installation.rest.users.getByUsername({ username: login });
      return { login, name: login, email: `${user.id}+${login}@users.noreply.github.com` };
    })().catch((error) => {
      identity = undefined;
      throw error;
    });
    return identity;
  };
}
