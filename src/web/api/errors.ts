import { isPrismError } from '../../errors/index.js';
import { ApiError, type ApiReply, type ApiRequest, type ApiRoute } from './route.js';

/** PrismError codes that are the client's to fix, and their HTTP status. Anything else is the server's 500. */
const CLIENT: Readonly<Record<string, 400 | 404 | 409>> = {
  BACKUP_NOT_FOUND: 404,
  INVALID_ARGUMENT: 400,
  CONFIG_INVALID: 400,
  NO_FULL_BACKUP: 409,
  REPO_LOCKED: 409,
  SERVICE_RUNNING: 409,
  CONFIRMATION_REQUIRED: 409,
  RESTORE_PATH_REFUSED: 409,
  DB_ENGINE_MISMATCH: 409,
};

/** A route whose handler's PrismErrors of the client (an unknown backup, a bad path) become ApiErrors with their status. */
export function route(method: ApiRoute['method'], path: string, summary: string, handler: (req: ApiRequest) => Promise<ApiReply>): ApiRoute {
  return {
    method,
    path,
    summary,
    handler: async (req) => {
      try {
        return await handler(req);
      } catch (e) {
        if (isPrismError(e) && CLIENT[e.code] !== undefined) {
          // a path not in the backup is not found, as an unknown backup is
          const status = e.code === 'INVALID_ARGUMENT' && e.details['missing'] === true ? 404 : CLIENT[e.code]!;
          throw new ApiError(status, e.code, e.message);
        }
        throw e;
      }
    },
  };
}
