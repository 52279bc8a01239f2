/**
 * PostgreSQL's write-ahead log over a measured run, per window of the run: megabytes written,
 * full-page images and checkpoints begun. After a checkpoint begins, the first change to each
 * page writes the whole page to the log, so the seconds after one cost every statement more; a
 * window slower than the others can then be told apart from a slower machine. The figures are
 * the whole PostgreSQL server's (its statistics are not kept per database).
 */
import pg from 'pg';

export interface WalWindow {
  megabytes: number;
  fullPageImagesPerSecond: number;
  checkpoints: number;
}

interface WalReading {
  at: number;
  bytes: number;
  fullPageImages: number;
  checkpoints: number;
}

export class WalWindows {
  private readonly readings: Array<Promise<WalReading>> = [];
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly client: pg.Client,
    private readonly checkpointsQuery: string,
  ) {}

  static async connect(databaseUrl: string): Promise<WalWindows> {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    const { rows } = await client.query<{ version: number }>(`select current_setting('server_version_num')::int as version`);
    // PostgreSQL 17 moved the checkpoint counts to a view of their own.
    const checkpointsQuery =
      rows[0].version >= 170000
        ? 'select num_timed + num_requested as n from pg_stat_checkpointer'
        : 'select checkpoints_timed + checkpoints_req as n from pg_stat_bgwriter';
    return new WalWindows(client, checkpointsQuery);
  }

  /** Reads the log's counters now and at the end of every `windowMs` from now on, until `stop`. */
  start(windowMs: number): void {
    const from = Date.now();
    const readAtNextBoundary = () => {
      this.timer = setTimeout(
        () => {
          this.readings.push(this.read());
          readAtNextBoundary();
        },
        windowMs - ((Date.now() - from) % windowMs),
      );
    };
    this.readings.push(this.read());
    readAtNextBoundary();
  }

  /** Reads the counters a last time and answers each window's figures; a last window under a second is left out. */
  async stop(): Promise<WalWindow[]> {
    clearTimeout(this.timer);
    const last = await this.read();
    const readings = await Promise.all(this.readings);
    await this.client.end();
    if (last.at - readings[readings.length - 1].at >= 1000) readings.push(last);
    return readings.slice(1).map((reading, i) => {
      const before = readings[i];
      return {
        megabytes: (reading.bytes - before.bytes) / 1e6,
        fullPageImagesPerSecond: ((reading.fullPageImages - before.fullPageImages) * 1000) / (reading.at - before.at),
        checkpoints: reading.checkpoints - before.checkpoints,
      };
    });
  }

  private async read(): Promise<WalReading> {
    const at = Date.now();
    const wal = await this.client.query<{ bytes: string; fpi: string }>('select wal_bytes::text as bytes, wal_fpi::text as fpi from pg_stat_wal');
    const checkpoints = await this.client.query<{ n: string }>(this.checkpointsQuery);
    return { at, bytes: Number(wal.rows[0].bytes), fullPageImages: Number(wal.rows[0].fpi), checkpoints: Number(checkpoints.rows[0].n) };
  }
}
