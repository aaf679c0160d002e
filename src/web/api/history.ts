import { backupHistory } from '../../app/monitoring/history.js';
import { route } from './errors.js';
import { json, type ApiRoute } from './route.js';

const history = route(
  'GET',
  '/api/history',
  'every backup over time (size, stored size, new data, duration), failures, disk use with its 80/90/95 % lines, dedup and compression ratios, drills',
  async (req) => json(await backupHistory(req.ctx, { cached: true })),
);

export const historyRoutes: ApiRoute[] = [history];
