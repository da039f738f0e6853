import { setFlagsFromString } from 'node:v8';

/**
 * The agent's JavaScript is not hot: an idle node spends well under 1% of a
 * core in it. V8's optimizing compiler would still cost about 12 MB of
 * resident memory (its code and compile zones) for no gain that matters, and on
 * a Pi with 512 MB that matters more than a faster reconcile pass. Set before
 * the rest of the agent loads; bytecode and the baseline compiler still run.
 */
setFlagsFromString('--no-opt');
