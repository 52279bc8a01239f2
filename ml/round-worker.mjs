// Worker bootstrap: registers tsx's ESM hooks inside this thread, then loads the TypeScript entry.
import { register } from 'tsx/esm/api';

register();
await import('./round-worker.ts');
