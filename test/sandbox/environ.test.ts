import { describe, expect, it } from 'vitest';
import { hasBwrap, runFakeApp, secretsIn } from './helpers.js';

/**
 * The app's own secrets sit in its /proc/<pid>/environ (the block it was started with) whatever
 * process.env says. A command must not be able to read them there: with bwrap the app's pid is
 * not in the sandbox's /proc; without it the app overwrites the block at start.
 */
describe('the app environ, without bwrap', () => {
  it('is readable by a command when nothing is done (so the tests below can see a leak)', async () => {
    const app = await runFakeApp({ sandbox: 'none', scrub: false, cwd: '/tmp' });
    expect(app.sandbox).toBe('none');
    expect(app.output).toContain(`== parent ${app.pid}`);
    expect(secretsIn(app.output)).toEqual(['OPENAI_API_KEY', 'WEBHOOK_SECRET', 'PRIVATE_KEY', 'AUTOCODER_API_TOKEN']);
  });

  it('holds no secret once the app scrubbed it, while the app keeps its environment', async () => {
    const app = await runFakeApp({ sandbox: 'none', scrub: true, cwd: '/tmp' });
    expect(app.scrub).toMatchObject({ ok: true });
    expect(app.scrub?.scrubbed).toEqual(expect.arrayContaining(['OPENAI_API_KEY', 'WEBHOOK_SECRET', 'PRIVATE_KEY', 'AUTOCODER_API_TOKEN']));
    // The command's parent is the app; both reads really happened.
    expect(app.output).toContain(`== parent ${app.pid}`);
    expect(app.output).toMatch(/== app \d+\nPATH=/);
    expect(app.output).toMatch(/OPENAI_API_KEY=\*+\n/);
    expect(secretsIn(app.output)).toEqual([]);
    expect(app.openaiKeyInApp).toBe('sk-proj-SANDBOXTESTabcdefghijklmnop0123');
  });
});

describe.skipIf(!hasBwrap)('the app environ, with bwrap (skipped: bwrap not usable here)', () => {
  it('is out of reach even when the app did not scrub it: its pid is not in the sandbox', async () => {
    const app = await runFakeApp({ sandbox: 'bwrap', scrub: false, cwd: '/tmp' });
    expect(app.sandbox).toBe('bwrap');
    expect(app.output).toMatch(new RegExp(`== app ${app.pid}\\ncat: /proc/${app.pid}/environ: No such file or directory`));
    // The parent inside is bwrap's own init, with the command's (allowlisted) environment.
    expect(app.output).not.toContain(`== parent ${app.pid}`);
    expect(secretsIn(app.output)).toEqual([]);
  });
});
