import { Hono } from 'hono';
import type { DatabaseKind } from '../db/create-db.js';

export interface HealthInfo {
  database: DatabaseKind;
  tfjsBackend: string;
  version: string;
}

export function healthRoutes(info: HealthInfo) {
  return new Hono().get('/', (c) => c.json({ status: 'ok', ...info }));
}
