import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AutocoderError } from '../../src/engine/errors.js';
import { defaultTools, executeToolCall, toolSpecs } from '../../src/engine/tools/index.js';
import type { ToolDefinition } from '../../src/engine/tools/types.js';
import { makeTempRepo, type TempRepo } from '../helpers/temp-repo.js';
import { makeContext } from './tool-context.js';

let repo: TempRepo;
beforeAll(async () => {
  repo = await makeTempRepo({ 'a.txt': 'one\n' });
});
afterAll(() => repo.cleanup());

describe('toolSpecs', () => {
  it('offers the contract tools in order with compact JSON schemas', () => {
    const specs = toolSpecs(defaultTools);
    expect(specs.map((spec) => spec.name)).toEqual(['list_files', 'read_file', 'search_code', 'edit_file', 'write_file', 'run_command', 'finish']);
    const required = Object.fromEntries(specs.map((spec) => [spec.name, spec.parameters.required ?? []]));
    expect(required).toEqual({
      list_files: [],
      read_file: ['path'],
      search_code: ['query'],
      edit_file: ['path', 'old_string', 'new_string'],
      write_file: ['path', 'content'],
      run_command: ['command'],
      finish: ['summary'],
    });
    for (const spec of specs) {
      expect(spec.parameters.type).toBe('object');
      expect(spec.parameters).not.toHaveProperty('$schema');
      expect(spec.description.length).toBeLessThan(200);
      // A valid JSON schema round-trips through zod's own reader.
      expect(() => z.fromJSONSchema(spec.parameters as never)).not.toThrow();
    }
    const readFile = specs[1].parameters as { properties: Record<string, Record<string, unknown>> };
    expect(readFile.properties.start_line).toEqual({ type: 'integer', minimum: 1, description: expect.any(String) });
    expect(JSON.stringify(specs).length).toBeLessThan(3_200);
  });
});

describe('executeToolCall', () => {
  const context = () => makeContext(repo.root);

  it('runs a tool from JSON arguments, treating null as absent and "" as {}', async () => {
    expect(await executeToolCall(defaultTools, 'read_file', '{"path":"a.txt","start_line":null}', context())).toEqual({ ok: true, output: '1 | one' });
    expect((await executeToolCall(defaultTools, 'list_files', '', context())).output).toBe('a.txt');
  });

  it('names the available tools for an unknown one', async () => {
    const result = await executeToolCall(defaultTools, 'delete_repo', '{}', context());
    expect(result).toEqual({
      ok: false,
      output: "unknown tool 'delete_repo'; the available tools are: list_files, read_file, search_code, edit_file, write_file, run_command, finish",
    });
  });

  it('returns invalid JSON as an error result', async () => {
    const result = await executeToolCall(defaultTools, 'read_file', '{"path": "a.txt"', context());
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/^arguments are not valid JSON: .+; send a JSON object matching the schema$/);
  });

  it('lists each schema issue with its path', async () => {
    const result = await executeToolCall(defaultTools, 'read_file', '{"start_line":"3"}', context());
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/^invalid arguments for read_file:\n- path: .*expected string.*\n- start_line: .*expected number/);
    const notObject = await executeToolCall(defaultTools, 'edit_file', '[1]', context());
    expect(notObject.output).toMatch(/- \(arguments\): .*expected object/);
  });

  it('turns thrown errors into error results', async () => {
    const throwing: ToolDefinition[] = [
      { name: 'typed', description: '', schema: z.object({}), run: async () => { throw new AutocoderError('path_outside', 'nope, outside'); } },
      { name: 'plain', description: '', schema: z.object({}), run: async () => { throw new Error('disk on fire'); } },
    ];
    expect(await executeToolCall(throwing, 'typed', '{}', context())).toEqual({ ok: false, output: 'nope, outside' });
    expect(await executeToolCall(throwing, 'plain', '{}', context())).toEqual({ ok: false, output: 'plain failed: disk on fire' });
    expect(await executeToolCall(defaultTools, 'read_file', '{"path":"../x"}', context())).toMatchObject({ ok: false, output: expect.stringMatching(/outside the working tree/) });
  });
});
