export { exposedSecrets, type ExposedSecrets } from './exposed-secrets.js';
export { loadConfig } from './load-config.js';
export { passwordFromFile, passwordSourceFromEnv, type PasswordPrompt } from './password-sources.js';
export { configFilePath, expandHome, logsDir, prismHome, type Env } from './paths.js';
export type { CopyTarget, ResolvedConfig, ValueOrigin } from './resolved-config.js';
export {
  configFileSchema,
  defaultCompressionLevel,
  objectLockSchema,
  type AlertsConfig,
  type ReceiverConfig,
  type BackupSection,
  type ConfigFile,
  type CopyConfig,
  type DatabaseConfig,
  type ObjectLockConfig,
} from './schema.js';
