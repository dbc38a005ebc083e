/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { fill, h } from './dom.js';

/**
 * Asks for the API token once; `check` tries it against the server and resolves with an error
 * message, or undefined when it was accepted.
 */
export function signIn(root: HTMLElement, message: string | undefined, check: (token: string) => Promise<string | undefined>): void {
  const input = h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'current-password', spellcheck: 'false', required: true, 'aria-describedby': 'token-help token-error' });
  const error = h('p', { id: 'token-error', class: 'error', role: 'alert' }, message ?? '');
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const form = h(
    'form',
    { class: 'panel sign-in', 'aria-labelledby': 'sign-in-title' },
    h('h1', { id: 'sign-in-title' }, 'autocoder'),
    h('p', { id: 'token-help', class: 'muted' }, 'Enter the API token: the value of AUTOCODER_API_TOKEN on this server. This browser keeps it until you choose “Forget token”.'),
    h('label', { for: 'token' }, 'API token'),
    input,
    error,
    submit,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const token = input.value.trim();
    if (!token) {
      error.textContent = 'Enter the token.';
      input.focus();
      return;
    }
    submit.disabled = true;
    error.textContent = '';
    const problem = await check(token);
    if (problem === undefined) return;
    submit.disabled = false;
    error.textContent = problem;
    input.select();
    input.focus();
  });
  fill(root, form);
  document.title = 'Sign in · autocoder';
  input.focus();
}
