import { readFileSync } from 'node:fs';

// The WebAssembly API of Node (typed in lib.dom, which this project does not load): what is used here.
declare namespace WebAssembly {
  class Module {
    constructor(bytes: Uint8Array);
  }
  class Instance {
    constructor(module: Module, imports: object);
    readonly exports: unknown;
  }
}

/** A module's linear memory, as its exports show it. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

/** A mutable global of a module, as its exports show it. */
export interface WasmGlobal {
  value: number;
}

/** Bytes in one page of linear memory. */
export const WASM_PAGE = 64 * 1024;

const compiled = new Map<string, WebAssembly.Module>();

/**
 * A new instance of the .wasm file at `url` (assembled from its .wat at build time by
 * scripts/build-wasm.mjs). The file is read and compiled once per thread; each instance has its
 * own memory. The caller names the URL relative to its own module (`new URL('./x.wasm',
 * import.meta.url)`), which holds beside the compiled TypeScript and in the bundle alike.
 */
export function instantiateWasm<T>(url: URL): T {
  let mod = compiled.get(url.href);
  if (!mod) {
    mod = new WebAssembly.Module(readFileSync(url));
    compiled.set(url.href, mod);
  }
  return new WebAssembly.Instance(mod, {}).exports as T;
}
