import * as v from 'valibot';
import { readDrills } from '../../app/integrity/drill-history.js';
import { evaluateAlerts } from '../../app/monitoring/alerts.js';
import { alertsView } from '../../app/monitoring/alerts-view.js';
import { tasksReport } from '../../daemon/tasks-report.js';
import { route } from './errors.js';
import { parseInput, queryInt, strict } from './input.js';
import { json, type ApiRoute } from './route.js';

const tasksQuery = strict({ days: queryInt(1, 36_500, 7), job: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(256))) });

const tasks = route('GET', '/api/tasks', 'the task log of the last days (default 7), newest first; job: one job, as `tasks --json`', async (req) => {
  const q = parseInput(tasksQuery, req.query, 'query');
  return json(await tasksReport(req.ctx.config.home, req.ctx.clock.now(), { days: q.days, job: q.job }));
});

const drills = route('GET', '/api/drills', 'past restore drills, oldest first, as `drill --history --json`', async (req) =>
  json(readDrills(req.ctx.config.home)),
);

const alerts = route(
  'GET',
  '/api/alerts',
  'active and recently resolved alerts, routing and silences (nothing is delivered), as `alerts --all --json`',
  async (req) => json(alertsView(await evaluateAlerts(req.ctx, { deliver: false }), { all: true }).json),
);

export const taskRoutes: ApiRoute[] = [tasks, drills, alerts];
