import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { runEventSchema } from '../../src/engine/events.js';
import { ROOT, buggyRepo, dataDir, example, fixingModel, modelEnv, runNode, scriptedLlm } from './fixtures.js';

const PROMPT = 'add() subtracts; fix it';

describe('the examples, run as a user runs them', () => {
  it('import the package by its name, which Node and tsx resolve to the build in dist/sdk', async () => {
    const resolveSelf = ['--input-type=module', '-e', "process.stdout.write(import.meta.resolve('autocoder'))"];
    const built = pathToFileURL(join(ROOT, 'dist/sdk/index.js')).href;
    const { stdout } = await promisify(execFile)(process.execPath, resolveSelf, { cwd: ROOT });
    expect(stdout).toBe(built);
    expect((await runNode(resolveSelf, { cwd: ROOT, env: {} })).stdout).toBe(built);
    // Importing does nothing: no environment is read (a bad value fails no import), no server or timer keeps Node alive.
    const imported = await runNode(
      ['--input-type=module', '-e', "const sdk = await import('autocoder'); process.stdout.write(Object.keys(sdk).sort().join(' '))"],
      { cwd: ROOT, env: { OPENAI_BASE_URL: 'not a url', AUTOCODER_MODEL: '' } },
    );
    expect(imported).toEqual({ code: 0, stdout: 'AutocoderError modifyCodeStream query querySync', stderr: '' });
    for (const name of ['query-stream.ts', 'query-sync.ts', 'modify-code-stream.ts']) {
      expect(await readFile(example(name), 'utf8')).toMatch(/from 'autocoder';/);
    }
  });

  it('query-sync.ts prints the result and the diff of the fix it made (repository from argv)', async () => {
    const repo = await buggyRepo();
    const llm = await scriptedLlm(fixingModel());
    const out = await runNode([example('query-sync.ts'), PROMPT, repo.root], { cwd: ROOT, env: modelEnv(llm, await dataDir()) });
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const lines = out.stdout.split('\n');
    expect(lines.slice(0, 3)).toEqual(['reason: completed', expect.stringMatching(/^session: ses_/), 'summary: Fixed add(): it subtracted instead of adding.']);
    expect(lines).toContain('changed: modified src/math.js');
    expect(out.stdout).toContain('--- a/src/math.js\n+++ b/src/math.js');
    expect(out.stdout).toContain('-  return a - b;\n+  return a + b;');
    expect(await readFile(join(repo.root, 'src/math.js'), 'utf8')).toContain('return a + b;');
    expect(llm.requests[0].body.messages.at(-1)).toEqual({ role: 'user', content: PROMPT });
  });

  it('query-stream.ts prints the transcript as it goes (repository from the current folder)', async () => {
    const repo = await buggyRepo();
    const llm = await scriptedLlm(fixingModel());
    // No AUTOCODER_DATA_DIR: the default ./.data lands inside the repository, and must not dirty it.
    const { AUTOCODER_DATA_DIR: _default, ...env } = modelEnv(llm, await dataDir());
    const out = await runNode([example('query-stream.ts'), PROMPT], { cwd: repo.root, env });
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(out.stdout.trim().split('\n')).toEqual([
      'assistant: Looking for add.',
      '→ search_code {"query":"add"}',
      expect.stringMatching(/^← search_code ok: /),
      '→ read_file {"path":"src/math.js"}',
      expect.stringMatching(/^← read_file ok: /),
      '→ edit_file {"path":"src/math.js","old_string":"return a - b;","new_string":"return a + b;"}',
      expect.stringMatching(/^← edit_file ok: /),
      '→ run_command {"command":"node test.js"}',
      '← run_command ok: exit code 0',
      '→ finish {"summary":"Fixed add(): it subtracted instead of adding."}',
      expect.stringMatching(/^← finish ok/),
      'result: completed after 5 steps, 1 file(s) changed',
      'Fixed add(): it subtracted instead of adding.',
    ]);
    expect(await readFile(join(repo.root, 'src/math.js'), 'utf8')).toContain('return a + b;');
    expect(existsSync(join(repo.root, '.data/autocoder.db'))).toBe(true);
    expect(await repo.git('status', '--porcelain')).toBe(' M src/math.js\n');
  });

  it('modify-code-stream.ts prints one typed event per line', async () => {
    const repo = await buggyRepo();
    const llm = await scriptedLlm(fixingModel());
    const out = await runNode([example('modify-code-stream.ts'), PROMPT, repo.root], { cwd: ROOT, env: modelEnv(llm, await dataDir()) });
    expect(out.code).toBe(0);
    const events = out.stdout.trim().split('\n').map((line) => runEventSchema.parse(JSON.parse(line)));
    expect(events[0]).toMatchObject({ type: 'started', prompt: PROMPT, cwd: repo.root });
    expect(events.at(-1)).toMatchObject({ type: 'finished', reason: 'completed', changedFiles: [{ path: 'src/math.js', change: 'modified' }] });
    expect(out.stderr).toBe('modified: src/math.js\ncompleted: Fixed add(): it subtracted instead of adding.\n');
    expect(await readFile(join(repo.root, 'src/math.js'), 'utf8')).toContain('return a + b;');
  });

  it('say which key to set when there is none', async () => {
    const repo = await buggyRepo();
    const out = await runNode([example('query-sync.ts'), PROMPT, repo.root], { cwd: ROOT, env: { AUTOCODER_DATA_DIR: await dataDir() } });
    expect(out.code).toBe(2);
    expect(out.stdout).toBe('');
    expect(out.stderr).toMatch(/^error missing_api_key: OPENAI_API_KEY is not set/);
  });
});
