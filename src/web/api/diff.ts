import * as v from 'valibot';
import { diffBackups } from '../../app/backups/browse-backup.js';
import { route } from './errors.js';
import { parseInput, strict } from './input.js';
import { json, type ApiRoute } from './route.js';

const diffQuery = strict({ from: v.string('a backup id'), to: v.string('a backup id') });

const diff = route('GET', '/api/diff', 'what changed between two backups (from, to), as `backup diff --json`', async (req) => {
  const q = parseInput(diffQuery, req.query, 'query');
  return json(await diffBackups(req.ctx, q.from, q.to));
});

export const diffRoutes: ApiRoute[] = [diff];
