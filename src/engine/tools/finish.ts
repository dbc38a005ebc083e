import { z } from 'zod';
import type { ToolDefinition } from './types.js';

const schema = z.object({
  summary: z.string().min(1).describe('what was changed and why, for the pull request (Markdown)'),
});

export const finishTool: ToolDefinition<typeof schema> = {
  name: 'finish',
  description: 'End the task. Call once the work is done (or cannot be done), with a summary.',
  schema,
  async run(args) {
    return { ok: true, output: 'finished', finish: { summary: args.summary } };
  },
};
