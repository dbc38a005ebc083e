import type { RecordedRequest, ScriptStep } from '../helpers/scripted-llm-server.js';
import { turnOf } from './harness.js';

export const MATH_FILES = { 'src/math.js': 'export function add(a, b) {\n  return a - b;\n}\n' };

/**
 * The scripted model, chosen by the task's `model`:
 * - `fix`: reads src/math.js, fixes add(), finishes;
 * - `quick`: finishes after a short pause, changing nothing;
 * - `note`: writes notes/<prompt>.txt, then finishes;
 * - `hang`: never answers;
 * - `command`: runs the prompt after `run: ` as a command, then never answers.
 */
export function scriptedModel(request: RecordedRequest): ScriptStep {
  const { prompt, turn } = turnOf(request);
  switch (request.body.model) {
    case 'fix':
      return [
        { toolCalls: [{ name: 'read_file', arguments: { path: 'src/math.js' } }] },
        { toolCalls: [{ name: 'edit_file', arguments: { path: 'src/math.js', old_string: 'a - b', new_string: 'a + b' } }] },
        { toolCalls: [{ name: 'finish', arguments: { summary: 'Fixed add(): it subtracted.' } }], usage: { prompt_tokens: 120, completion_tokens: 30 } },
      ][Math.min(turn, 2)];
    case 'quick':
      return { delayMs: 150, toolCalls: [{ name: 'finish', arguments: { summary: 'Nothing needed changing.' } }], usage: { prompt_tokens: 10, completion_tokens: 5 } };
    case 'note':
      if (turn === 0) return { delayMs: 100, toolCalls: [{ name: 'write_file', arguments: { path: `notes/${prompt}.txt`, content: `${prompt}\n` } }] };
      return { toolCalls: [{ name: 'finish', arguments: { summary: `Wrote ${prompt}.` } }] };
    case 'command':
      if (turn === 0) return { toolCalls: [{ name: 'run_command', arguments: { command: prompt.replace(/^run: /, '') } }] };
      return { hang: true };
    case 'hang':
    default:
      return { hang: true };
  }
}
