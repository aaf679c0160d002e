/** Where a blob lives: pack, the compression frame in it, and the blob's place in the frame. */
export const BLOB_TYPE = { data: 0, tree: 1 } as const;
export type BlobType = (typeof BLOB_TYPE)[keyof typeof BLOB_TYPE];

export interface BlobLocation {
  readonly type: BlobType;
  readonly pack: string;
  readonly codec: number;
  readonly frameOffset: number;
  readonly frameLength: number;
  readonly frameRawLength: number;
  readonly blobOffset: number;
  readonly blobLength: number;
}

export interface IndexedBlob extends BlobLocation {
  /** SHA-256 of the plaintext, hex. */
  readonly id: string;
}

/** Compressed bytes attributed to a blob (its share of the frame). */
export function storedShare(loc: BlobLocation): number {
  if (loc.frameRawLength === 0) return 0;
  return Math.round((loc.frameLength * loc.blobLength) / loc.frameRawLength);
}
