/**
 * How a command (run_command, and the setup and test commands of a run) is confined. The engine
 * turns a command line into the program to start; `runProcess` then starts it as usual, with its
 * time limit, output cap and group kill, so those hold whatever the sandbox is.
 */

export type SandboxKind = 'bwrap' | 'none';

export interface WrapOptions {
  /** The working directory (real path); it must be one of `writablePaths` or inside one. */
  cwd: string;
  /** The complete environment of the command (already an allowlist). */
  env: NodeJS.ProcessEnv;
  /** Real paths the command may write; with bwrap, nothing else on disk is writable. */
  writablePaths: string[];
  /** Keep the host's network (a setup command that installs packages). Default false. */
  network?: boolean;
}

/** What `runProcess(file, args, { cwd, env })` starts. */
export interface WrappedCommand {
  file: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

export interface SandboxLimits {
  /**
   * RLIMIT_NPROC for the command. With bwrap (its own user namespace) it counts the sandbox's
   * processes and threads; without it, those of the whole user, so it is added to what the user
   * already runs. The kernel does not apply it to root.
   */
  maxProcesses: number;
  /** RLIMIT_FSIZE: the largest file the command may write. */
  maxFileBytes: number;
  /** Size of the sandbox's private /tmp (which also holds $HOME); memory, so keep it bounded. */
  tmpBytes: number;
}

export const DEFAULT_LIMITS: SandboxLimits = {
  maxProcesses: 1024,
  maxFileBytes: 2 * 1024 ** 3,
  tmpBytes: 1024 ** 3,
};

export interface CommandSandbox {
  readonly kind: SandboxKind;
  /** One line for logs: what the commands get and, without bwrap, why not. */
  describe(): string;
  /** The program that runs `command` (a shell command line) confined. */
  wrap(command: string, options: WrapOptions): Promise<WrappedCommand>;
}

/** What a caller asks for; `detectSandbox` turns it into a {@link CommandSandbox}. */
export interface SandboxRequest {
  /**
   * `auto` (default): bwrap when it works here, else none. `bwrap`: bwrap or an error. `none`:
   * the environment allowlist and limits only.
   */
  prefer?: 'auto' | 'bwrap' | 'none';
  /**
   * Paths commands must not see at all: the data directory (other runs' worktrees, the store,
   * the mirror caches), the private key file, the app's `.env`. Folders become empty and
   * read-only, files unreadable (`Permission denied`). The working tree and its git folders
   * stay visible inside a hidden folder.
   */
  hiddenPaths?: string[];
  limits?: Partial<SandboxLimits>;
}

export function isCommandSandbox(value: unknown): value is CommandSandbox {
  return typeof value === 'object' && value !== null && typeof (value as CommandSandbox).wrap === 'function';
}
