import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as v from 'valibot';
import { configFileSchema } from '../../config/index.js';
import { fromSystemError } from '../../errors/index.js';
import type { AppContext } from '../context.js';
import { mkdirPrivate, writePrivateFile } from '../../core/private-files.js';

export interface InitResult {
  home: string;
  configFile: string;
  created: string[];
  configWritten: boolean;
}

/** The default backup.json prism writes: the SOP §9.1 file plus prism's own keys. */
export function defaultConfigFile(): unknown {
  const parsed = v.parse(configFileSchema, {});
  return { backup: { ...parsed.backup, compression: { enabled: true, algorithm: 'zstd', level: 3 } } };
}

/** Creates PRISM_HOME with the SOP layout and a default config/backup.json (never overwrites one). */
export function initHome(ctx: AppContext): InitResult {
  const { home, configFile } = ctx.config;
  const created: string[] = [];
  try {
    for (const dir of [home, ...ctx.config.backup.sources.include.map((d) => join(home, d)), join(home, 'config'), join(home, 'logs')]) {
      if (!existsSync(dir)) {
        mkdirPrivate(dir);
        created.push(dir);
      }
    }
    let configWritten = false;
    if (!existsSync(configFile)) {
      writePrivateFile(configFile, JSON.stringify(defaultConfigFile(), null, 2) + '\n', { flag: 'wx' });
      configWritten = true;
    }
    ctx.logger.info({ event: 'init', home, created, configWritten }, 'data directory initialised');
    return { home, configFile, created, configWritten };
  } catch (e) {
    throw fromSystemError(e, `initialising ${home}`);
  }
}
