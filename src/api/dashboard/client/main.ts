/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The dashboard's entry: sign-in, then the run list or one run, chosen by the address
 * (`#/tasks/<id>`, or `?task=<id>` for links from elsewhere).
 */
import { Unauthorized, createApi, problem, tokenStore } from './api.js';
import { followTasks, type LiveState } from './live-tasks.js';
import { listView } from './list-view.js';
import { signIn } from './sign-in.js';
import { createTaskStore } from './task-store.js';
import { taskPage } from './task-page.js';

const main = document.getElementById('main')!;
const live = document.getElementById('live')!;
const signOut = document.getElementById('sign-out') as HTMLButtonElement;

let store = createTaskStore();
let stopLive: (() => void) | undefined;
let leaveView: (() => void) | undefined;
let signedIn = false;

const api = createApi(() => {
  // Several requests may be refused at once; the first one asks again.
  if (!signedIn) return;
  stop();
  tokenStore.clear();
  askForToken('The server did not accept the token. Enter it again.');
});

const LIVE_TEXT: Record<LiveState, string> = { connecting: 'Connecting…', live: 'Live', down: 'Offline' };

function showLive(state: LiveState, detail?: string): void {
  live.dataset.state = state;
  live.textContent = detail ? `${LIVE_TEXT[state]}, ${detail}` : LIVE_TEXT[state];
}

function route(): void {
  leaveView?.();
  const match = /^#\/tasks\/([^/]+)$/.exec(location.hash);
  leaveView = match ? taskPage(main, decodeURIComponent(match[1]), api, store) : listView(main, store);
}

function start(): void {
  signedIn = true;
  signOut.hidden = false;
  store = createTaskStore();
  stopLive = followTasks(api, store, showLive);
  route();
}

function stop(): void {
  signedIn = false;
  stopLive?.();
  leaveView?.();
  stopLive = leaveView = undefined;
  signOut.hidden = true;
  live.textContent = '';
}

function askForToken(message?: string): void {
  signIn(main, message, async (token) => {
    tokenStore.set(token);
    try {
      await api.listTasks(1);
    } catch (error) {
      tokenStore.clear();
      return error instanceof Unauthorized ? 'That token was not accepted.' : `The server cannot be asked: ${problem(error)}.`;
    }
    start();
    return undefined;
  });
}

// A link such as /dashboard?task=<id> becomes the page's own address for that run.
const linked = new URLSearchParams(location.search).get('task');
if (linked) history.replaceState(null, '', `${location.pathname}#/tasks/${encodeURIComponent(linked)}`);

window.addEventListener('hashchange', () => {
  if (!signedIn) return;
  route();
  main.focus();
});
signOut.addEventListener('click', () => {
  stop();
  tokenStore.clear();
  askForToken();
});

if (tokenStore.get()) start();
else askForToken();
