export { loadConfig } from './load-config.js';
export { configFilePath, expandHome, logsDir, prismHome, type Env } from './paths.js';
export type { ResolvedConfig, ValueOrigin } from './resolved-config.js';
export { configFileSchema, defaultCompressionLevel, type BackupSection, type ConfigFile } from './schema.js';
