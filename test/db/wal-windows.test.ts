import { sql } from 'kysely';
import { describe, expect, inject, it } from 'vitest';
import { WalWindows } from '../bench/wal-windows.js';
import { openTestDb } from '../support/test-db.js';

/** bench:annotate's log figures: they come from PostgreSQL's own statistics, so only PostgreSQL has them. */
describe.skipIf(!inject('postgresUrl'))('write-ahead log per window on postgres', () => {
  it('counts the log written, the full-page images after a checkpoint and the checkpoints', async () => {
    const wal = await WalWindows.connect(inject('postgresUrl')!);
    wal.start(200);
    const database = await openTestDb('postgres');
    await database.db.connection().execute(async (db) => {
      await sql`create table filler (n int, pad text)`.execute(db);
      await sql`insert into filler select g, repeat('x', 200) from generate_series(1, 5000) g`.execute(db);
      await sql`checkpoint`.execute(db);
      // The first change to each page after the checkpoint logs the whole page.
      await sql`update filler set n = n + 1`.execute(db);
      await sql`checkpoint`.execute(db);
    });
    // A connection's statistics reach the shared counters when it ends, at the latest.
    await database.close();
    await new Promise((resolve) => setTimeout(resolve, 500));

    const windows = await wal.stop();
    expect(windows.length).toBeGreaterThan(0);
    expect(windows.reduce((sum, w) => sum + w.megabytes, 0)).toBeGreaterThan(1);
    expect(windows.some((w) => w.fullPageImagesPerSecond > 0)).toBe(true);
    expect(windows.reduce((sum, w) => sum + w.checkpoints, 0)).toBeGreaterThanOrEqual(2);
  });
});
