import { readFileSync } from 'node:fs';

/**
 * Where the S3 credentials come from, decided from the environment alone (no network):
 * - `static`: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) are set: they
 *   are used and nothing else is asked, not even with AWS_PROFILE set too (the keys are the
 *   more explicit; the SDK takes the profile then, and warns that it will change).
 * - `chain`: the standard AWS chain: the profile (AWS_PROFILE, else `default`) in
 *   ~/.aws/credentials and ~/.aws/config (static keys, assumed roles, SSO, credential_process),
 *   a web identity token (AWS_WEB_IDENTITY_TOKEN_FILE, EKS), the container endpoint
 *   (AWS_CONTAINER_CREDENTIALS_*_URI, ECS and EKS Pod Identity) and, last, the EC2 instance
 *   metadata service at 169.254.169.254 when `instanceMetadata` says so.
 */
export type CredentialSource =
  | { kind: 'static'; accessKeyId: string; secretAccessKey: string; sessionToken: string | undefined }
  | { kind: 'chain'; profile: string | undefined; instanceMetadata: boolean };

/** The files that tell a Linux host it is an EC2 instance (Nitro: the DMI vendor; Xen: the hypervisor UUID). */
const EC2_MARKS: readonly { file: string; test: (s: string) => boolean }[] = [
  { file: '/sys/devices/virtual/dmi/id/sys_vendor', test: (s) => s.trim() === 'Amazon EC2' },
  { file: '/sys/devices/virtual/dmi/id/board_asset_tag', test: (s) => /^i-[0-9a-f]{8,}$/.test(s.trim()) },
  { file: '/sys/hypervisor/uuid', test: (s) => s.trim().toLowerCase().startsWith('ec2') },
];

export type ReadText = (file: string) => string | undefined;

const readText: ReadText = (file) => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
};

/** Whether this host looks like an EC2 instance, from the files the kernel shows (no request). */
export function looksLikeEc2(read: ReadText = readText): boolean {
  return EC2_MARKS.some(({ file, test }) => {
    const s = read(file);
    return s !== undefined && test(s);
  });
}

/**
 * Whether the instance metadata service may be asked. AWS_EC2_METADATA_DISABLED decides when set
 * (as the SDK reads it: anything but `false` disables). Unset, the SDK would ask it from any
 * host, where the request to 169.254.169.254 waits for a timeout or, on some networks, reaches
 * something that is not AWS; prism asks it only on a host that shows it is an EC2 instance.
 */
export function instanceMetadataAllowed(env: NodeJS.ProcessEnv, read: ReadText = readText): boolean {
  const v = env.AWS_EC2_METADATA_DISABLED?.trim();
  if (v) return v.toLowerCase() === 'false';
  return looksLikeEc2(read);
}

export function credentialSource(env: NodeJS.ProcessEnv, read: ReadText = readText): CredentialSource {
  const accessKeyId = env.AWS_ACCESS_KEY_ID?.trim();
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY?.trim();
  if (accessKeyId && secretAccessKey) return { kind: 'static', accessKeyId, secretAccessKey, sessionToken: env.AWS_SESSION_TOKEN?.trim() || undefined };
  return { kind: 'chain', profile: env.AWS_PROFILE?.trim() || undefined, instanceMetadata: instanceMetadataAllowed(env, read) };
}

/** What a user is told when no credentials were found or the store refused them. */
export const CREDENTIALS_HINT =
  'set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary keys), or AWS_PROFILE naming a profile in ~/.aws/credentials';
