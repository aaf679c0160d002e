/**
 * The Azurite server the test servers run on loopback, as described in
 * /tmp/prism-servers/endpoints.json under "azure". Tests that need it fail loudly when it is not
 * there (they never skip).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { BlobServiceClient } from '@azure/storage-blob';

export interface Azurite {
  /** The blob endpoint, with the account in the path: http://127.0.0.1:10100/devstoreaccount1 */
  endpoint: string;
  accountName: string;
  accountKey: string;
  connectionString: string;
  host: string;
  port: number;
}

const ENDPOINTS = '/tmp/prism-servers/endpoints.json';

export function azurite(): Azurite {
  let described: { endpoint: string; accountName: string; accountKey: string; connectionString: string } | undefined;
  try {
    described = (JSON.parse(readFileSync(ENDPOINTS, 'utf8')) as { azure?: typeof described }).azure;
  } catch (e) {
    throw new Error(`the Azure tests need Azurite: ${ENDPOINTS} is missing or unreadable (${String(e)}); start the test servers first`);
  }
  if (!described?.endpoint || !described.accountKey || !described.connectionString) {
    throw new Error(
      `the Azure tests need Azurite: ${ENDPOINTS} has no "azure" entry with endpoint, accountName, accountKey and connectionString; start the test servers first`,
    );
  }
  const u = new URL(described.endpoint);
  return { ...described, endpoint: described.endpoint.replace(/\/+$/, ''), host: u.hostname, port: Number(u.port) };
}

/** A client of the account with Azure's own SDK, not through prism's backend (to create containers and read back). */
export function azuriteService(server: Azurite): BlobServiceClient {
  return BlobServiceClient.fromConnectionString(server.connectionString, { retryOptions: { maxTries: 1 } });
}

/** A new empty container with a random name. */
export async function freshContainer(service: BlobServiceClient): Promise<string> {
  const name = `prism-${randomBytes(8).toString('hex')}`;
  await service.createContainer(name);
  return name;
}
