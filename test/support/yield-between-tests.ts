/**
 * Setup of every test file (vitest.config.ts): after each test the worker's event loop turns
 * once, so it answers its runner's messages even in a file of many synchronous tests. Vitest
 * gives up on a worker whose reply takes 60 s ("Timeout calling onTaskUpdate"), which a loaded
 * 2-core machine reaches in a file of a minute of synchronous tests.
 */
import { afterEach } from 'vitest';

afterEach(() => new Promise<void>((resolve) => setImmediate(resolve)));
