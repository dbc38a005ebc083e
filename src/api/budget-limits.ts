import type { AppEnv } from '../config/env.js';
import { ApiError } from './http.js';
import type { CreateTaskBody } from './schemas.js';

/**
 * The operator's budgets bound what a REST client may ask: `AUTOCODER_MAX_TOKENS` and
 * `AUTOCODER_MAX_COST_USD` are the default and the most one task may set, and a cost budget needs
 * the prices. A request over them is a 400 that names the field and the limit, not a silent cut.
 */
export function assertWithinBudgets(body: Pick<CreateTaskBody, 'maxTokens' | 'maxCostUsd'>, env: Pick<AppEnv, 'maxTokens' | 'maxCostUsd' | 'prices'>): void {
  if (body.maxTokens !== undefined && env.maxTokens !== undefined && body.maxTokens > env.maxTokens) {
    throw new ApiError(400, 'invalid_request', `body.maxTokens: at most ${env.maxTokens} on this server (AUTOCODER_MAX_TOKENS), got ${body.maxTokens}`);
  }
  if (body.maxCostUsd !== undefined && !env.prices) {
    throw new ApiError(400, 'invalid_request', 'body.maxCostUsd: this server has no prices per token (AUTOCODER_PRICE_PER_MTOK_INPUT and _OUTPUT), so it cannot keep a cost budget');
  }
  if (body.maxCostUsd !== undefined && env.maxCostUsd !== undefined && body.maxCostUsd > env.maxCostUsd) {
    throw new ApiError(400, 'invalid_request', `body.maxCostUsd: at most ${env.maxCostUsd} on this server (AUTOCODER_MAX_COST_USD), got ${body.maxCostUsd}`);
  }
}

/** The budgets a task runs with: its own, else the operator's. */
export function taskBudgets(body: Pick<CreateTaskBody, 'maxTokens' | 'maxCostUsd'>, env: Pick<AppEnv, 'maxTokens' | 'maxCostUsd' | 'prices'>) {
  return { maxTokens: body.maxTokens ?? env.maxTokens, maxCostUsd: env.prices ? body.maxCostUsd ?? env.maxCostUsd : undefined, prices: env.prices };
}
