/**
 * The Azurite server of the remote-repository tests (test-servers.ts), with what the Azure tests
 * add: its host and port (for a fault proxy in front of it), a client of Azure's own SDK, and
 * fresh containers.
 */
import { BlobServiceClient } from '@azure/storage-blob';
import { uniqueContainer, type AzureTestServer } from './test-servers.js';

export interface Azurite extends AzureTestServer {
  host: string;
  port: number;
}

/** Azurite as endpoints.json describes it (`testServers().azure`, which throws, saying what to run, when it is not running). */
export function azurite(described: AzureTestServer): Azurite {
  const u = new URL(described.endpoint);
  return { ...described, endpoint: described.endpoint.replace(/\/+$/, ''), host: u.hostname, port: Number(u.port) };
}

/** A client of the account with Azure's own SDK, not through prism's backend (to create containers and read back). */
export function azuriteService(server: Azurite): BlobServiceClient {
  return BlobServiceClient.fromConnectionString(server.connectionString, { retryOptions: { maxTries: 1 } });
}

/** A new empty container that no other test uses. */
export async function freshContainer(service: BlobServiceClient): Promise<string> {
  const name = uniqueContainer('prism-azure');
  await service.createContainer(name);
  return name;
}
