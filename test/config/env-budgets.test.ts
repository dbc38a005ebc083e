/** The budget keys of the environment: validated once, an error naming the key. */
import { describe, expect, it } from 'vitest';
import { EnvError, readEnv } from '../../src/config/env.js';

const read = (env: NodeJS.ProcessEnv) => readEnv(env, '/tmp');
const issues = (env: NodeJS.ProcessEnv): string[] => {
  try {
    read(env);
  } catch (error) {
    if (error instanceof EnvError) return error.issues;
    throw error;
  }
  throw new Error('expected the environment to be refused');
};

describe('budget settings from the environment', () => {
  it('unset: no budgets beyond steps and time', () => {
    expect(read({})).toMatchObject({ maxTokens: undefined, prices: undefined, maxCostUsd: undefined, dailyRuns: undefined, dailyTokens: undefined });
  });

  it('reads every key', () => {
    expect(
      read({
        AUTOCODER_MAX_TOKENS: '200000',
        AUTOCODER_PRICE_PER_MTOK_INPUT: '2.5',
        AUTOCODER_PRICE_PER_MTOK_OUTPUT: '10',
        AUTOCODER_MAX_COST_USD: '1.5',
        AUTOCODER_DAILY_RUNS: '20',
        AUTOCODER_DAILY_TOKENS: '5000000',
      }),
    ).toMatchObject({ maxTokens: 200_000, prices: { inputPerMTok: 2.5, outputPerMTok: 10 }, maxCostUsd: 1.5, dailyRuns: 20, dailyTokens: 5_000_000 });
    // A free local model: prices of 0 are prices.
    expect(read({ AUTOCODER_PRICE_PER_MTOK_INPUT: '0', AUTOCODER_PRICE_PER_MTOK_OUTPUT: '0' }).prices).toEqual({ inputPerMTok: 0, outputPerMTok: 0 });
  });

  it('refuses bad values, naming the key', () => {
    expect(issues({ AUTOCODER_MAX_TOKENS: 'lots' })).toEqual(['AUTOCODER_MAX_TOKENS: expected a positive whole number, got "lots"']);
    expect(issues({ AUTOCODER_DAILY_RUNS: '0' })[0]).toMatch(/^AUTOCODER_DAILY_RUNS: expected a positive whole number/);
    expect(issues({ AUTOCODER_PRICE_PER_MTOK_INPUT: '-1', AUTOCODER_PRICE_PER_MTOK_OUTPUT: '1' })[0]).toMatch(/^AUTOCODER_PRICE_PER_MTOK_INPUT: expected a non-negative number/);
    expect(issues({ AUTOCODER_PRICE_PER_MTOK_INPUT: '1', AUTOCODER_PRICE_PER_MTOK_OUTPUT: '1', AUTOCODER_MAX_COST_USD: '0' })[0]).toMatch(/^AUTOCODER_MAX_COST_USD: expected a positive number/);
  });

  it('one price without the other, or a cost budget without prices: refused, saying what to set', () => {
    expect(issues({ AUTOCODER_PRICE_PER_MTOK_INPUT: '1' })).toEqual([
      'AUTOCODER_PRICE_PER_MTOK_OUTPUT: set both AUTOCODER_PRICE_PER_MTOK_INPUT and AUTOCODER_PRICE_PER_MTOK_OUTPUT, or neither',
    ]);
    expect(issues({ AUTOCODER_MAX_COST_USD: '2' })).toEqual([
      'AUTOCODER_MAX_COST_USD: a cost budget needs prices: set AUTOCODER_PRICE_PER_MTOK_INPUT and AUTOCODER_PRICE_PER_MTOK_OUTPUT',
    ]);
  });
});
