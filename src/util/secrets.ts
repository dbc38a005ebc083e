import { createRedactor, type Redactor } from './redact.js';

/** Installation tokens are minted all day; the newest ones are the ones that can still leak. */
const MAX_DYNAMIC = 500;

/**
 * The secrets this process knows, growing as tokens are minted, with one redactor over all of
 * them. The fixed ones (keys from the environment) are never forgotten.
 */
export function createSecretSet(fixed: ReadonlyArray<string | undefined>) {
  const permanent = fixed.filter((value): value is string => Boolean(value));
  const dynamic: string[] = [];
  let redactor = createRedactor(permanent);
  return {
    add(secret: string): void {
      if (!secret || dynamic.includes(secret) || permanent.includes(secret)) return;
      dynamic.push(secret);
      if (dynamic.length > MAX_DYNAMIC) dynamic.shift();
      redactor = createRedactor([...permanent, ...dynamic]);
    },
    redact: ((text: string) => redactor(text)) as Redactor,
  };
}
export type SecretSet = ReturnType<typeof createSecretSet>;
