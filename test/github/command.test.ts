import { describe, expect, it } from 'vitest';
import { helpText, parseCommand } from '../../src/github/command.js';

describe('parseCommand: where a command is recognised', () => {
  it('recognises /autocoder alone as a run without instructions', () => {
    expect(parseCommand('/autocoder')).toEqual({ kind: 'run', instructions: '' });
    expect(parseCommand('  /autocoder  \n')).toEqual({ kind: 'run', instructions: '' });
  });

  it('needs /autocoder at the start of a line (up to three spaces before it)', () => {
    expect(parseCommand('Thanks!\n   /autocoder fix it')).toEqual({ kind: 'run', instructions: 'fix it' });
    expect(parseCommand('please /autocoder fix it')).toBeUndefined();
    expect(parseCommand('- /autocoder fix it')).toBeUndefined();
  });

  it('does not count a line indented as a code block', () => {
    expect(parseCommand('    /autocoder fix it')).toBeUndefined();
    expect(parseCommand('\t/autocoder fix it')).toBeUndefined();
  });

  it('ignores /autocoderx and other words that only begin like it', () => {
    expect(parseCommand('/autocoderx fix it')).toBeUndefined();
    expect(parseCommand('/autocoder-bot fix it')).toBeUndefined();
    expect(parseCommand('/auto coder')).toBeUndefined();
  });

  it('accepts the command word in any case', () => {
    expect(parseCommand('/AutoCoder fix it')).toEqual({ kind: 'run', instructions: 'fix it' });
    expect(parseCommand('/AUTOCODER STATUS')).toEqual({ kind: 'status' });
  });

  it('ignores commands inside fenced code blocks (``` and ~~~)', () => {
    expect(parseCommand('Use it like this:\n\n```\n/autocoder fix it\n```')).toBeUndefined();
    expect(parseCommand('~~~md\n/autocoder fix it\n~~~')).toBeUndefined();
    expect(parseCommand('````\n```\n/autocoder inner\n```\n````')).toBeUndefined();
    // An unclosed fence runs to the end of the comment.
    expect(parseCommand('```\n/autocoder fix it')).toBeUndefined();
  });

  it('finds a command after a fenced block closes', () => {
    expect(parseCommand('```\n/autocoder no\n```\n/autocoder yes')).toEqual({ kind: 'run', instructions: 'yes' });
  });

  it('ignores commands inside inline code, also spans that cross lines', () => {
    expect(parseCommand('type `/autocoder fix it` to start')).toBeUndefined();
    expect(parseCommand('`/autocoder fix it`')).toBeUndefined();
    expect(parseCommand('see `this\n/autocoder fix` here')).toBeUndefined();
    // An unmatched backtick is literal text and does not hide the line.
    expect(parseCommand('a ` b\n/autocoder fix')).toEqual({ kind: 'run', instructions: 'fix' });
  });

  it('ignores quoted lines, and lines that continue a quote', () => {
    expect(parseCommand('> /autocoder fix it')).toBeUndefined();
    expect(parseCommand('> > /autocoder fix it')).toBeUndefined();
    expect(parseCommand('> earlier text\n/autocoder fix it')).toBeUndefined();
    expect(parseCommand('> earlier text\n\n/autocoder fix it')).toEqual({ kind: 'run', instructions: 'fix it' });
  });

  it('ignores commands hidden in HTML comments, and invisible characters around one', () => {
    expect(parseCommand('<!-- /autocoder fix it -->')).toBeUndefined();
    expect(parseCommand('<!--\n/autocoder delete everything\n-->\nhello')).toBeUndefined();
    expect(parseCommand('\u200B/autocoder fix it')).toEqual({ kind: 'run', instructions: 'fix it' });
  });

  it('handles CRLF line endings', () => {
    expect(parseCommand('hi\r\n/autocoder status\r\n')).toEqual({ kind: 'status' });
  });

  it('returns undefined when there is no command at all', () => {
    expect(parseCommand('')).toBeUndefined();
    expect(parseCommand('Looks good to me')).toBeUndefined();
  });
});

describe('parseCommand: instructions', () => {
  it('takes the rest of the line and every line after it', () => {
    const body = 'Some context.\n/autocoder fix the login bug\n\nAlso:\n- keep the API\n- add a test';
    expect(parseCommand(body)).toEqual({
      kind: 'run',
      instructions: 'fix the login bug\n\nAlso:\n- keep the API\n- add a test',
    });
  });

  it('keeps code blocks that follow the command line in the instructions', () => {
    const body = '/autocoder make this pass:\n```\nexpect(add(1, 2)).toBe(3)\n```';
    expect(parseCommand(body)).toEqual({ kind: 'run', instructions: 'make this pass:\n```\nexpect(add(1, 2)).toBe(3)\n```' });
  });

  it('takes instructions from the next lines when the command line has none', () => {
    expect(parseCommand('/autocoder\nrename foo to bar')).toEqual({ kind: 'run', instructions: 'rename foo to bar' });
  });

  it('uses the first command when there are several', () => {
    expect(parseCommand('/autocoder status\n/autocoder cancel')).toEqual({ kind: 'status' });
  });
});

describe('parseCommand: subcommands', () => {
  it.each(['status', 'cancel', 'retry', 'help'] as const)('recognises %s', (kind) => {
    expect(parseCommand(`/autocoder ${kind}`)).toEqual({ kind });
    expect(parseCommand(`/autocoder ${kind[0].toUpperCase()}${kind.slice(1)}!`)).toEqual({ kind });
  });

  it('ignores text after a control subcommand, so "cancel this please" cancels', () => {
    expect(parseCommand('/autocoder cancel this please')).toEqual({ kind: 'cancel' });
    expect(parseCommand('/autocoder status?')).toEqual({ kind: 'status' });
  });

  it('gives plan, approve and continue their instructions', () => {
    expect(parseCommand('/autocoder plan')).toEqual({ kind: 'plan', instructions: '' });
    expect(parseCommand('/autocoder plan how to split the module\nkeep it small')).toEqual({
      kind: 'plan',
      instructions: 'how to split the module\nkeep it small',
    });
    expect(parseCommand('/autocoder approve')).toEqual({ kind: 'approve', instructions: '' });
    expect(parseCommand('/autocoder continue and add docs')).toEqual({ kind: 'continue', instructions: 'and add docs' });
  });

  it('answers a mistyped subcommand with unknown instead of starting a run', () => {
    for (const word of ['stauts', 'halp', 'cancle', 'retyr', 'pln', 'stat', 'stop', 'abort', 'rerun']) {
      expect(parseCommand(`/autocoder ${word}`), word).toEqual({ kind: 'unknown', word });
    }
  });

  it('takes other single words and anything longer as instructions', () => {
    expect(parseCommand('/autocoder refactor')).toEqual({ kind: 'run', instructions: 'refactor' });
    expect(parseCommand('/autocoder Stauts')).toEqual({ kind: 'run', instructions: 'Stauts' });
    expect(parseCommand('/autocoder stauts of the page is wrong')).toEqual({ kind: 'run', instructions: 'stauts of the page is wrong' });
    expect(parseCommand('/autocoder fix-typo')).toEqual({ kind: 'run', instructions: 'fix-typo' });
  });

  it('treats --help as help', () => {
    expect(parseCommand('/autocoder --help')).toEqual({ kind: 'help' });
  });
});

describe('parseCommand: run options', () => {
  it('parses --attempts and --models after run, or right after /autocoder', () => {
    expect(parseCommand('/autocoder run --attempts 3 fix it')).toEqual({ kind: 'run', instructions: 'fix it', attempts: 3 });
    expect(parseCommand('/autocoder --models gpt-4o,deepseek-chat fix it')).toEqual({
      kind: 'run',
      instructions: 'fix it',
      models: ['gpt-4o', 'deepseek-chat'],
    });
    expect(parseCommand('/autocoder --attempts=2 --model qwen\nmore')).toEqual({
      kind: 'run',
      instructions: 'more',
      attempts: 2,
      models: ['qwen'],
    });
  });

  it('only reads options at the start, so the text may mention them', () => {
    expect(parseCommand('/autocoder fix the --attempts flag')).toEqual({ kind: 'run', instructions: 'fix the --attempts flag' });
    expect(parseCommand('/autocoder -- --verbose is broken')).toEqual({ kind: 'run', instructions: '--verbose is broken' });
  });

  it('reports bad option values and unknown options', () => {
    expect(parseCommand('/autocoder run --attempts ten fix it')).toMatchObject({ kind: 'invalid', message: expect.stringContaining('"ten"') });
    expect(parseCommand('/autocoder --attempts 9')).toMatchObject({ kind: 'invalid', message: expect.stringContaining('1 to 5') });
    expect(parseCommand('/autocoder --attempts')).toMatchObject({ kind: 'invalid', message: expect.stringContaining('nothing') });
    expect(parseCommand('/autocoder --models , fix')).toMatchObject({ kind: 'invalid' });
    expect(parseCommand('/autocoder --force fix')).toMatchObject({ kind: 'invalid', message: expect.stringContaining('--force') });
  });

  it('accepts run with nothing after it', () => {
    expect(parseCommand('/autocoder run')).toEqual({ kind: 'run', instructions: '' });
  });
});

describe('helpText', () => {
  it('lists every command and names the label', () => {
    const text = helpText('ai-fix');
    for (const c of ['/autocoder plan', '/autocoder approve', '/autocoder continue', '/autocoder status', '/autocoder cancel', '/autocoder retry', '/autocoder help', '--attempts']) {
      expect(text).toContain(c);
    }
    expect(text).toContain('`ai-fix`');
  });
});
