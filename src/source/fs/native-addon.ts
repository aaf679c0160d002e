import { fileURLToPath } from 'node:url';

/** The Node-API addon `<name>.node` built beside this file from `<name>.c` (scripts/build-native.mjs), or undefined without it. */
export function loadAddon<T>(name: string): T | undefined {
  try {
    const mod = { exports: {} as T };
    process.dlopen(mod, fileURLToPath(new URL(`./${name}.node`, import.meta.url)));
    return mod.exports;
  } catch {
    return undefined;
  }
}
