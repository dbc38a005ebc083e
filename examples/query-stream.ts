/**
 * The transcript of a run as it happens.
 *
 *   OPENAI_API_KEY=... node --import tsx examples/query-stream.ts "fix the failing test" [REPO]
 *
 * REPO defaults to the current folder; the endpoint and model come from OPENAI_BASE_URL,
 * OPENAI_API_KEY and AUTOCODER_MODEL. Ctrl-C stops the run (and any command it is running).
 */
import { query, AutocoderError } from 'autocoder';

const [prompt, repo] = process.argv.slice(2);
if (!prompt) {
  console.error('usage: query-stream.ts PROMPT [REPO]');
  process.exit(2);
}

const controller = new AbortController();
process.once('SIGINT', () => controller.abort());

try {
  for await (const message of query(prompt, { cwd: repo ?? process.cwd(), signal: controller.signal })) {
    switch (message.type) {
      case 'assistant':
        console.log(`assistant: ${message.text}`);
        break;
      case 'tool_call':
        console.log(`→ ${message.name} ${JSON.stringify(message.input)}`);
        break;
      case 'tool_result':
        console.log(`← ${message.name} ${message.ok ? 'ok' : 'failed'}: ${message.output.split('\n')[0]}`);
        break;
      case 'result':
        console.log(`result: ${message.reason} after ${message.steps} steps, ${message.changedFiles.length} file(s) changed`);
        console.log(message.summary);
        process.exitCode = message.reason === 'completed' ? 0 : 1;
    }
  }
} catch (error) {
  // Only a run that could not start throws: a missing key, a folder that does not exist.
  if (!(error instanceof AutocoderError)) throw error;
  console.error(`error ${error.code}: ${error.message}`);
  process.exitCode = 2;
}
