/** Location schemes of stores that are not a local path (prism has s3:, azure: and sftp:; the others are refused with a message). */
export const REMOTE_SCHEME = /^(s3|azure|sftp|gs|b2|rest|rclone|swift):/;

/** Whether a repository location names a remote store (and so is not resolved as a local path). */
export const isRemoteLocation = (location: string): boolean => REMOTE_SCHEME.test(location);
