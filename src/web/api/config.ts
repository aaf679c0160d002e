import { effectiveConfig } from '../../app/effective-config.js';
import { policyReport } from '../../app/maintenance/retention.js';
import { route } from './errors.js';
import { json, type ApiRoute } from './route.js';

const config = route(
  'GET',
  '/api/config',
  'the effective configuration, each value with its origin (file, env, default), secrets masked; the retention policy as `backup policy --json`',
  async (req) => json({ ...effectiveConfig(req.ctx.config), policy: policyReport(req.ctx) }),
);

export const configRoutes: ApiRoute[] = [config];
