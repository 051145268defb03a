// The script node:cluster starts for each worker (see primary.ts).
import { applyRuntimeFlags } from '../../runtime-flags.js';
import { runWorker } from './worker.js';

applyRuntimeFlags();

runWorker();
