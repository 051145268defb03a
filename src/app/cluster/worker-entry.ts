// The script node:cluster starts for each worker (see primary.ts).
import { runWorker } from './worker.js';

runWorker();
