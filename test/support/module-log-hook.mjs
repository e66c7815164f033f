// Loaded with `node --import`: records the URL of every module the process resolves, one a line, in
// the file named by TREX_TEST_MODULE_LOG, so a test can tell which packages a process loaded.
import { register } from 'node:module';

register('./module-log-loader.mjs', import.meta.url);
