import { Hono } from 'hono';

export interface HealthInfo {
  database: 'pglite' | 'postgres';
  tfjsBackend: string;
  version: string;
}

export function healthRoutes(info: HealthInfo) {
  return new Hono().get('/', (c) => c.json({ status: 'ok', ...info }));
}
