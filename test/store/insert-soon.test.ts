import { afterEach, describe, expect, it, vi } from 'vitest';
import { rm } from 'node:fs/promises';
import { openDatabase, type Db } from '../../src/store/sqlite.js';
import { TaskStore, type NewTask } from '../../src/store/tasks.js';
import { makeTempDir } from '../helpers/temp-repo.js';

let db: Db | undefined;
let dir: string | undefined;
afterEach(async () => {
  db?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function open(onChange: (id: string) => void = () => {}) {
  dir = await makeTempDir('autocoder-store-');
  db = openDatabase(dir);
  return { db, store: new TaskStore(db, onChange) };
}

const delivery = (n: number, deliveryId = `d-${n}`): NewTask => ({
  id: `run-${n}`,
  source: 'github',
  state: 'received',
  threadKey: 'acme/widgets#5',
  deliveryId,
  repo: 'acme/widgets',
  issueNumber: 5,
  request: { n },
});

describe('TaskStore.insertSoon', () => {
  it('stores the deliveries of one moment in one transaction, each answered once its row is committed', async () => {
    const changed: string[] = [];
    const { store } = await open((id) => changed.push(id));
    // The store's one transaction of many rows (made once, when the store is).
    const transactions = vi.spyOn(store as unknown as { insertRows: (tasks: NewTask[]) => boolean[] }, 'insertRows');
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, n) =>
        store.insertSoon(delivery(n)).then((inserted) => {
          // Readable when the promise settles: the commit came first.
          expect(store.get(`run-${n}`)?.deliveryId).toBe(`d-${n}`);
          return inserted;
        }),
      ),
    );
    expect(answers).toEqual(Array(20).fill(true));
    expect(transactions).toHaveBeenCalledTimes(1);
    expect(changed).toEqual(Array.from({ length: 20 }, (_, n) => `run-${n}`));
    // In arrival order, as one at a time would have stored them.
    expect(store.byThread('acme/widgets#5').map((t) => t.id)).toEqual(Array.from({ length: 20 }, (_, n) => `run-${n}`));
  });

  it('answers false for a delivery seen before, in the same moment or earlier', async () => {
    const { store } = await open();
    expect(await store.insertSoon(delivery(1))).toBe(true);
    const [again, twin, other] = await Promise.all([
      store.insertSoon(delivery(2, 'd-1')),
      store.insertSoon(delivery(3, 'd-9')),
      store.insertSoon(delivery(4, 'd-9')),
    ]);
    expect([again, twin, other]).toEqual([false, true, false]);
    expect(store.get('run-2')).toBeUndefined();
    expect(store.get('run-4')).toBeUndefined();
  });

  it('a row that cannot be stored fails alone; the others of its moment are stored', async () => {
    const { store } = await open();
    const bad = { ...delivery(2), request: { big: 1n } };
    const outcomes = await Promise.allSettled([store.insertSoon(delivery(1)), store.insertSoon(bad), store.insertSoon(delivery(3))]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(String((outcomes[1] as PromiseRejectedResult).reason)).toMatch(/BigInt/);
    expect(store.get('run-1')).toBeDefined();
    expect(store.get('run-2')).toBeUndefined();
    expect(store.get('run-3')).toBeDefined();
  });
});
