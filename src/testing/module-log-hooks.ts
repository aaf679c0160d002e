import { appendFileSync } from 'node:fs';
import type { InitializeHook, LoadHook } from 'node:module';

/** The module hooks of module-log.ts: they run on the loader thread. */
let file = '';

export const initialize: InitializeHook<{ file: string }> = (data) => {
  file = data.file;
};

export const load: LoadHook = (url, context, next) => {
  appendFileSync(file, `${url}\n`);
  return next(url, context);
};
