import { makeTempRepo, type TempRepo } from '../helpers/temp-repo.js';

/**
 * A repository whose add() subtracts, with a test (`node test.js`) that fails until it is fixed:
 * what the CLI suites ask the agent to repair. Its removal goes on `cleanups`.
 */
export async function buggyRepo(cleanups: Array<() => Promise<void>>): Promise<TempRepo> {
  const repo = await makeTempRepo({
    'src/math.js': 'export function add(a, b) {\n  return a - b;\n}\n',
    'test.js': "import { add } from './src/math.js';\nif (add(2, 3) !== 5) { console.error('add(2, 3) is', add(2, 3)); process.exit(1); }\nconsole.log('ok');\n",
    'package.json': '{ "type": "module" }\n',
  });
  cleanups.push(() => repo.cleanup());
  return repo;
}
