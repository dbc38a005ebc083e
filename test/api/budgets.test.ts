/** REST tasks with budgets: the server's AUTOCODER_MAX_TOKENS is the default and the ceiling; cost comes with usage. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempRepo, type TempRepo } from '../helpers/temp-repo.js';
import { startHarness, type Harness } from './harness.js';
import { MATH_FILES } from './models.js';

let h: Harness;
let repo: TempRepo;

beforeAll(async () => {
  // 1,000 tokens an answer; it never finishes.
  h = await startHarness({
    model: () => ({ toolCalls: [{ name: 'list_files', arguments: {} }], usage: { prompt_tokens: 900, completion_tokens: 100 } }),
    env: { AUTOCODER_MAX_TOKENS: '5000', AUTOCODER_PRICE_PER_MTOK_INPUT: '2', AUTOCODER_PRICE_PER_MTOK_OUTPUT: '8', AUTOCODER_MAX_COST_USD: '1' },
  });
  repo = await makeTempRepo(MATH_FILES);
});
afterAll(async () => {
  await h.close();
  await repo.cleanup();
});

const post = (body: Record<string, unknown>) => h.api('/api/tasks', { method: 'POST', body: JSON.stringify(body) });

describe('POST /api/tasks with budgets', () => {
  it('maxTokens ends the task with end reason max_tokens; the view has the usage with its cost', async () => {
    const { id } = await h.submit({ repo: repo.root, prompt: 'look around', maxTokens: 1_500 });
    const view = await h.waitForState(id, ['finished']);
    expect(view).toMatchObject({ endReason: 'max_tokens', usage: { promptTokens: 1_800, completionTokens: 200, totalTokens: 2_000 } });
    expect(view.usage?.costUsd).toBeCloseTo(0.0052, 10);
  });

  it('without maxTokens, the server’s AUTOCODER_MAX_TOKENS applies', async () => {
    const { id } = await h.submit({ repo: repo.root, prompt: 'look around' });
    expect(await h.waitForState(id, ['finished'])).toMatchObject({ endReason: 'max_tokens', usage: { totalTokens: 5_000 } });
  });

  it('maxCostUsd ends the task with max_cost', async () => {
    const { id } = await h.submit({ repo: repo.root, prompt: 'look around', maxCostUsd: 0.005 });
    expect(await h.waitForState(id, ['finished'])).toMatchObject({ endReason: 'max_cost', usage: { totalTokens: 2_000 } });
  });

  it('more than the server allows, or a bad value: a 400 that names the field and the limit', async () => {
    const over = await post({ repo: repo.root, prompt: 'x', maxTokens: 6_000 });
    expect(over.status).toBe(400);
    expect((await over.json()).error.message).toBe('body.maxTokens: at most 5000 on this server (AUTOCODER_MAX_TOKENS), got 6000');
    const overCost = await post({ repo: repo.root, prompt: 'x', maxCostUsd: 2 });
    expect(overCost.status).toBe(400);
    expect((await overCost.json()).error.message).toContain('AUTOCODER_MAX_COST_USD');
    const bad = await post({ repo: repo.root, prompt: 'x', maxTokens: 'many' });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.message).toMatch(/maxTokens/);
  });

  it('/metrics counts the cost and the runs by their budget end reason', async () => {
    const text = await (await h.api('/metrics')).text();
    const cost = Number(/^autocoder_cost_usd_total (\S+)$/m.exec(text)?.[1]);
    // 2,000 + 5,000 + 2,000 tokens at $2.6 per million (900 prompt, 100 completion per 1,000).
    expect(cost).toBeCloseTo(0.0234, 8);
    expect(text).toMatch(/^autocoder_runs_total\{state="finished",end_reason="max_tokens",source="api"\} 2$/m);
    expect(text).toMatch(/^autocoder_runs_total\{state="finished",end_reason="max_cost",source="api"\} 1$/m);
  });

  it('the OpenAPI description has the new fields and end reasons', async () => {
    const doc = await h.json('/api/openapi.json');
    const schemas = doc.components.schemas;
    expect(Object.keys(schemas.CreateTask.properties)).toEqual(expect.arrayContaining(['maxTokens', 'maxCostUsd']));
    expect(JSON.stringify(schemas.TaskView)).toContain('max_tokens');
    expect(JSON.stringify(schemas.TaskView)).toContain('max_cost');
  });
});
