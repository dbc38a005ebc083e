import { execFileSync } from 'node:child_process';

/** Tests that start `bin/autocoder.js` need dist/ to match the sources: build when it is stale. */
export default function setup(): void {
  execFileSync(process.execPath, ['scripts/ensure-build.mjs'], { stdio: 'inherit' });
}
