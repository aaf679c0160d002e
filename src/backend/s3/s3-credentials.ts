import { fromHttp } from '@aws-sdk/credential-provider-http';
import { fromIni } from '@aws-sdk/credential-provider-ini';
import { fromTokenFile } from '@aws-sdk/credential-provider-web-identity';
import { fromInstanceMetadata } from '@smithy/credential-provider-imds';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { CREDENTIALS_HINT, type CredentialSource } from './credential-source.js';

/** No credentials anywhere the chain looked: a permanent StoreError once classified (s3-errors.ts). */
export class NoCredentialsError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NoCredentialsError';
  }
}

type Step = { what: string; provide: AwsCredentialIdentityProvider };

/** The SDK marks a provider that found nothing to use (as opposed to one that failed) with tryNextLink. */
const foundNothing = (e: unknown): boolean => (e as { tryNextLink?: boolean } | undefined)?.tryNextLink === true;

/**
 * The SDK's own credential providers in the SDK's order, with the environment prism was given
 * (not only process.env) and with the instance metadata step only where credential-source.ts
 * allows it. The client memoizes the result and asks again before temporary keys expire.
 */
export function credentialProvider(source: CredentialSource, env: NodeJS.ProcessEnv): AwsCredentialIdentity | AwsCredentialIdentityProvider {
  if (source.kind === 'static') {
    return { accessKeyId: source.accessKeyId, secretAccessKey: source.secretAccessKey, ...(source.sessionToken ? { sessionToken: source.sessionToken } : {}) };
  }
  const files = { filepath: env.AWS_SHARED_CREDENTIALS_FILE || undefined, configFilepath: env.AWS_CONFIG_FILE || undefined };
  const steps: Step[] = [{ what: `profile ${source.profile ?? 'default'}`, provide: fromIni({ profile: source.profile ?? 'default', ...files }) }];
  // a profile named on purpose that does not resolve is the answer: no falling through to other sources
  if (!source.profile) {
    if (env.AWS_WEB_IDENTITY_TOKEN_FILE && env.AWS_ROLE_ARN) {
      steps.push({
        what: 'web identity token',
        provide: fromTokenFile({
          webIdentityTokenFile: env.AWS_WEB_IDENTITY_TOKEN_FILE,
          roleArn: env.AWS_ROLE_ARN,
          roleSessionName: env.AWS_ROLE_SESSION_NAME,
        }),
      });
    }
    if (env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI || env.AWS_CONTAINER_CREDENTIALS_FULL_URI) {
      steps.push({
        what: 'container credentials endpoint',
        provide: fromHttp({
          awsContainerCredentialsRelativeUri: env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI,
          awsContainerCredentialsFullUri: env.AWS_CONTAINER_CREDENTIALS_FULL_URI,
          awsContainerAuthorizationToken: env.AWS_CONTAINER_AUTHORIZATION_TOKEN,
          awsContainerAuthorizationTokenFile: env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE,
        }),
      });
    }
    if (source.instanceMetadata) steps.push({ what: 'EC2 instance metadata', provide: fromInstanceMetadata({ timeout: 2000, maxRetries: 1 }) });
  }
  const tried = steps.map((s) => s.what).join(', ');
  return async (props) => {
    let last: unknown;
    for (const step of steps) {
      try {
        return await step.provide(props);
      } catch (e) {
        if (!foundNothing(e) && source.profile)
          throw new NoCredentialsError(`the AWS profile ${source.profile} gave no credentials: ${(e as Error).message}`, { cause: e });
        if (!foundNothing(e)) throw e;
        last = e;
      }
    }
    throw new NoCredentialsError(`no AWS credentials found (looked at: environment, ${tried}): ${CREDENTIALS_HINT}`, { cause: last });
  };
}
