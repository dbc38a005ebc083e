/**
 * Every typed engine event of a run, one JSON object per line: the same lines as
 * `autocoder run --output stream-json`.
 *
 *   OPENAI_API_KEY=... node --import tsx examples/modify-code-stream.ts "rename foo to bar" [REPO]
 *
 * REPO defaults to the current folder; the endpoint and model come from OPENAI_BASE_URL,
 * OPENAI_API_KEY and AUTOCODER_MODEL. A summary goes to standard error at the end.
 */
import { modifyCodeStream, AutocoderError, type RunEvent } from 'autocoder';

const [prompt, repo] = process.argv.slice(2);
if (!prompt) {
  console.error('usage: modify-code-stream.ts PROMPT [REPO]');
  process.exit(2);
}

let last: RunEvent | undefined;
try {
  for await (const event of modifyCodeStream(prompt, { cwd: repo ?? process.cwd() })) {
    process.stdout.write(`${JSON.stringify(event)}\n`);
    if (event.type === 'file_changed') console.error(`${event.change}: ${event.path}`);
    last = event;
  }
} catch (error) {
  if (!(error instanceof AutocoderError)) throw error;
  console.error(`error ${error.code}: ${error.message}`);
  process.exit(2);
}
if (last?.type === 'finished') {
  console.error(`${last.reason}: ${last.summary}`);
  process.exitCode = last.reason === 'completed' ? 0 : 1;
}
