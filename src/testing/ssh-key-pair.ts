import ssh2 from 'ssh2';

type KeyType = 'ed25519' | 'ecdsa' | 'rsa';

/**
 * A new SSH key pair that ssh2 itself can read back. ssh2's generateKeyPairSync('ed25519') strips
 * a public key's leading zero byte, so about 1 pair in 256 is refused by its own parser
 * ("Malformed OpenSSH private key", mscdex/ssh2#1513): such a pair is drawn again.
 */
export function sshKeyPair(type: KeyType): { public: string; private: string } {
  for (;;) {
    const pair =
      type === 'rsa'
        ? ssh2.utils.generateKeyPairSync('rsa', { bits: 2048 })
        : type === 'ecdsa'
          ? ssh2.utils.generateKeyPairSync('ecdsa', { bits: 256 })
          : ssh2.utils.generateKeyPairSync('ed25519');
    if (!(ssh2.utils.parseKey(pair.public) instanceof Error) && !(ssh2.utils.parseKey(pair.private) instanceof Error)) return pair;
  }
}
