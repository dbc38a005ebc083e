import { accessSync, constants, mkdtempSync, realpathSync, statfsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTempDir } from '../../test/helpers/temp-repo.js';

/** A fresh folder under the system's temp folder, with a name that says which benchmark made it. */
export function benchTempDir(name: string): Promise<string> {
  return makeTempDir(`autocoder-bench-${name}-`);
}

export async function removeDir(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true, maxRetries: 3 });
}

const TMPFS_MAGIC = 0x01021994;

/**
 * Where the working-tree benchmark writes its trees: `BENCH_TMPDIR` when set, else tmpfs
 * (`/dev/shm`) when there is one, else the system's temp folder. On the benchmark VM the disk is
 * ext4 without a journal, shared with other work: creating a file there right after many were
 * deleted anywhere on it scans the inode table (`recently_deleted`), and writing 20,000 files took
 * from 0.6 s to 10 s from one minute to the next. In memory the figures measure git and the app.
 */
export function treeDir(name: string): { path: string; fs: string } {
  const chosen = process.env.BENCH_TMPDIR ?? (usable('/dev/shm') ? '/dev/shm' : tmpdir());
  const path = realpathSync(mkdtempSync(join(chosen, `autocoder-bench-${name}-`)));
  let fs = 'disk';
  try {
    if (statfsSync(path).type === TMPFS_MAGIC) fs = 'tmpfs';
  } catch {
    // statfs is not available everywhere: call it a disk.
  }
  return { path, fs: `${fs} (${chosen})` };
}

function usable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    return statfsSync(dir).type === TMPFS_MAGIC;
  } catch {
    return false;
  }
}
