export { Chunker, DEFAULT_CHUNKER, gearTable, type ChunkerParams } from './chunker.js';
export { CODEC, CompressionError, FrameCompressor, decompress, type CodecId, type CompressionAlgorithm, type CompressionSettings } from './compress.js';
export { ID_BYTES, idListDigest, sha256, sha256Hex } from './hash.js';
