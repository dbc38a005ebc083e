export { detectSandbox, probeBwrap, type BwrapProbe } from './detect.js';
export { createBwrapSandbox, SANDBOX_HOME, type BwrapFeatures } from './bwrap.js';
export { createUnsandboxed } from './none.js';
export { readGitLayout, type GitLayout } from './git-dir.js';
export {
  DEFAULT_LIMITS,
  isCommandSandbox,
  type CommandSandbox,
  type SandboxKind,
  type SandboxLimits,
  type SandboxRequest,
  type WrapOptions,
  type WrappedCommand,
} from './types.js';

import { detectSandbox } from './detect.js';
import { isCommandSandbox, type CommandSandbox, type SandboxRequest } from './types.js';

/** A sandbox as given (tests, a caller that already chose) or chosen from a request. */
export function resolveSandbox(value: CommandSandbox | SandboxRequest | undefined): Promise<CommandSandbox> {
  return isCommandSandbox(value) ? Promise.resolve(value) : detectSandbox(value);
}
