import { register } from 'node:module';

/**
 * `node --import …/module-log.js prog.js`: appends the URL of every ES module prog.js loads to
 * $PRISM_MODULE_LOG (one a line), so a test can tell which modules a command loads.
 */
const file = process.env.PRISM_MODULE_LOG;
if (file) register(new URL('./module-log-hooks.js', import.meta.url), { data: { file } });
