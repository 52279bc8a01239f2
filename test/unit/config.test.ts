import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.js';

describe('database pool size', () => {
  it('opens one connection per core and one more, unless told otherwise', () => {
    expect(loadConfig({}).databasePoolSize).toBe(os.availableParallelism() + 1);
    expect(loadConfig({ DATABASE_POOL_SIZE: '12' }).databasePoolSize).toBe(12);
  });

  it('refuses a size that is not a positive whole number, naming the variable', () => {
    expect(() => loadConfig({ DATABASE_POOL_SIZE: '0' })).toThrow(/DATABASE_POOL_SIZE/);
    expect(() => loadConfig({ DATABASE_POOL_SIZE: 'many' })).toThrow(/DATABASE_POOL_SIZE/);
  });
});
