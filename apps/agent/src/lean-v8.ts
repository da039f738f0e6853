import { setFlagsFromString } from 'node:v8';

/**
 * Process settings that keep the agent small on a Pi.
 *
 * The agent's JavaScript is not hot: an idle node spends well under 1% of a
 * core in it. V8's optimizing compiler would still cost about 12 MB of
 * resident memory (its code and compile zones) for no gain that matters, and on
 * a Pi with 512 MB that matters more than a faster reconcile pass. Set before
 * the rest of the agent loads; bytecode and the baseline compiler still run.
 */
setFlagsFromString('--no-opt');

// The agent's blocking work (files, /proc reads) is small: two libuv worker threads
// instead of four, each with its own stack and malloc arena. Read on first use, so
// set here, before anything touches the thread pool.
process.env.UV_THREADPOOL_SIZE ??= '2';
