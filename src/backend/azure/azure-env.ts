/**
 * Where an Azure repository's account lives and how to sign requests to it, read from the
 * environment as Azure's own tools (az, azcopy, Storage Explorer) spell it:
 * - AZURE_STORAGE_CONNECTION_STRING (AccountName/AccountKey or SharedAccessSignature, and
 *   BlobEndpoint= for Azurite or a sovereign cloud; UseDevelopmentStorage=true for Azurite);
 * - or AZURE_STORAGE_ACCOUNT with AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN;
 * - AZURE_STORAGE_ENDPOINT overrides the blob endpoint (https://<account>.blob.core.windows.net)
 *   where the connection string names none.
 * Credentials never come from prism's own configuration, and never appear in messages.
 */
import type { Location } from '../location.js';
import { StoreError } from '../store-error.js';

export type AzureCredential = { kind: 'key'; key: string } | { kind: 'sas'; sas: string };

export interface AzureAccess {
  account: string;
  /** The blob service URL, without credentials and without a trailing slash. */
  endpoint: string;
  credential: AzureCredential;
  /** The variables the credentials came from, for messages ("AZURE_STORAGE_ACCOUNT and AZURE_STORAGE_KEY"). */
  from: string;
}

const CREDENTIAL_VARIABLES = 'AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT with AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN';

/** Azurite's documented development account (UseDevelopmentStorage=true): public, for a local emulator only. */
const DEV_ACCOUNT = 'devstoreaccount1';
const DEV_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
const DEV_ENDPOINT = 'http://127.0.0.1:10000/devstoreaccount1';

type AzureLocation = Extract<Location, { kind: 'azure' }>;

/** The account, endpoint and credential for a location; a permanent StoreError when they are missing or disagree. */
export function azureAccess(loc: AzureLocation, env: NodeJS.ProcessEnv, store: string): AzureAccess {
  const refuse = (why: string): StoreError => new StoreError('permanent', store, why);
  const connection = env.AZURE_STORAGE_CONNECTION_STRING?.trim();
  let access: AzureAccess;
  if (connection) {
    access = fromConnectionString(connection, env.AZURE_STORAGE_ENDPOINT, refuse);
  } else {
    const account = env.AZURE_STORAGE_ACCOUNT?.trim() || loc.account;
    const key = env.AZURE_STORAGE_KEY?.trim();
    const sas = env.AZURE_STORAGE_SAS_TOKEN?.trim();
    if (!account || (!key && !sas)) {
      throw refuse(`no Azure credentials in the environment: set ${CREDENTIAL_VARIABLES}`);
    }
    access = {
      account,
      endpoint: endpointOf(env.AZURE_STORAGE_ENDPOINT, `https://${account}.blob.core.windows.net`, 'AZURE_STORAGE_ENDPOINT', refuse),
      credential: key ? { kind: 'key', key } : { kind: 'sas', sas: sas!.replace(/^\?/, '') },
      from: `AZURE_STORAGE_ACCOUNT and ${key ? 'AZURE_STORAGE_KEY' : 'AZURE_STORAGE_SAS_TOKEN'}`,
    };
  }
  if (loc.account && loc.account !== access.account) {
    throw refuse(
      `the location names the storage account ${loc.account}, but the credentials (${access.from}) are for ${access.account}: ` +
        `use the location azure:${loc.container}:/${loc.prefix} or credentials for ${loc.account}`,
    );
  }
  return access;
}

function fromConnectionString(connection: string, endpointOverride: string | undefined, refuse: (why: string) => StoreError): AzureAccess {
  const fields = new Map<string, string>();
  for (const part of connection.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  const from = 'AZURE_STORAGE_CONNECTION_STRING';
  if (fields.get('usedevelopmentstorage')?.toLowerCase() === 'true') {
    return { account: DEV_ACCOUNT, endpoint: DEV_ENDPOINT, credential: { kind: 'key', key: DEV_KEY }, from };
  }
  const blobEndpoint = fields.get('blobendpoint');
  const key = fields.get('accountkey');
  const sas = fields.get('sharedaccesssignature');
  const account = fields.get('accountname') || (blobEndpoint ? accountOfEndpoint(blobEndpoint) : undefined);
  if (!account) throw refuse(`${from} names no account: it needs AccountName= (or a BlobEndpoint= that names the account)`);
  if (!key && !sas)
    throw refuse(
      `${from} has neither AccountKey= nor SharedAccessSignature=: copy the whole connection string from the portal or \`az storage account show-connection-string\``,
    );
  const protocol = fields.get('defaultendpointsprotocol') || 'https';
  const suffix = fields.get('endpointsuffix') || 'core.windows.net';
  const endpoint = blobEndpoint
    ? endpointOf(blobEndpoint, '', `BlobEndpoint in ${from}`, refuse)
    : endpointOf(endpointOverride, `${protocol}://${account}.blob.${suffix}`, 'AZURE_STORAGE_ENDPOINT', refuse);
  return { account, endpoint, credential: key ? { kind: 'key', key } : { kind: 'sas', sas: sas!.replace(/^\?/, '') }, from };
}

/** An http(s) URL without a query, credentials or trailing slash; the fallback when not given. */
function endpointOf(raw: string | undefined, fallback: string, what: string, refuse: (why: string) => StoreError): string {
  const value = raw?.trim();
  if (!value) return fallback;
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw refuse(`${what} is not a URL: write it as https://<account>.blob.core.windows.net (or http://127.0.0.1:10000/devstoreaccount1 for Azurite)`);
  }
  if ((u.protocol !== 'https:' && u.protocol !== 'http:') || u.username || u.password || u.search) {
    throw refuse(`${what} must be a plain http(s) URL without credentials or a query (a SAS goes into AZURE_STORAGE_SAS_TOKEN)`);
  }
  return `${u.protocol}//${u.host}${u.pathname}`.replace(/\/+$/, '');
}

/** The account an endpoint names: the first label of <account>.blob.<suffix>, or the first path part of http://127.0.0.1:10000/<account>. */
function accountOfEndpoint(endpoint: string): string | undefined {
  try {
    const u = new URL(endpoint);
    const inPath = u.pathname.split('/').filter(Boolean)[0];
    if (inPath) return inPath;
    const label = u.hostname.split('.')[0];
    return u.hostname.includes('.blob.') && label ? label : undefined;
  } catch {
    return undefined;
  }
}

/** What to check when Azure refuses the credentials, for the kind of credential in use. */
export function credentialHint(access: AzureAccess): string {
  const keyHint = `it must be one of the account's access keys (az storage account keys list --account-name ${access.account})`;
  const sasHint = 'it must not have expired and must allow read, add, create, write, delete and list (sp=racwdl) on the container';
  const what = access.credential.kind === 'key' ? `the AccountKey in it: ${keyHint}` : `the SharedAccessSignature in it: ${sasHint}`;
  if (access.from === 'AZURE_STORAGE_CONNECTION_STRING') return `check AZURE_STORAGE_CONNECTION_STRING, ${what}; and the host's clock`;
  const variable = access.credential.kind === 'key' ? 'AZURE_STORAGE_KEY' : 'AZURE_STORAGE_SAS_TOKEN';
  return `check AZURE_STORAGE_ACCOUNT (${access.account}) and ${variable}: ${access.credential.kind === 'key' ? keyHint : sasHint}; and the host's clock`;
}
