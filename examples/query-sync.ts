/**
 * One run to the end, then its result: the summary, the changed files and the diff.
 *
 *   OPENAI_API_KEY=... node --import tsx examples/query-sync.ts "add a fibonacci function" [REPO]
 *
 * REPO defaults to the current folder; the endpoint and model come from OPENAI_BASE_URL,
 * OPENAI_API_KEY and AUTOCODER_MODEL. Pass SESSION=<id> to continue an earlier conversation.
 */
import { querySync, AutocoderError } from 'autocoder';

const [prompt, repo] = process.argv.slice(2);
if (!prompt) {
  console.error('usage: query-sync.ts PROMPT [REPO]');
  process.exit(2);
}

try {
  const result = await querySync(prompt, { cwd: repo ?? process.cwd(), session: process.env.SESSION || undefined });
  console.log(`reason: ${result.reason}`);
  console.log(`session: ${result.sessionId}`);
  console.log(`summary: ${result.summary}`);
  for (const file of result.changedFiles) console.log(`changed: ${file.change} ${file.path}`);
  console.log(`tokens: ${result.usage.totalTokens}`);
  if (result.error) console.error(`error ${result.error.code}: ${result.error.message}`);
  process.stdout.write(result.diff);
  process.exitCode = result.reason === 'completed' ? 0 : 1;
} catch (error) {
  if (!(error instanceof AutocoderError)) throw error;
  console.error(`error ${error.code}: ${error.message}`);
  process.exitCode = 2;
}
