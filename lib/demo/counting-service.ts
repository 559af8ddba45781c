import { EncryptionService } from '../encryption/encryption-service.js';
import type { EncryptionServiceConfig } from '../encryption/encryption-types.js';
import { nodeFileSystem } from '../files/fs-seam.js';

/**
 * An EncryptionService that counts the files it has written, for the
 * demonstration's table: every published file (a rename) and every journal
 * append, since the stores write under their lock through the service's
 * file-system seam rather than through encryptToFile.
 */
export class CountingEncryptionService extends EncryptionService {
  readonly #counter: { writes: number };

  constructor(config: EncryptionServiceConfig) {
    const counter = { writes: 0 };
    super(config, {
      fileSystem: {
        rename: async (from, to) => {
          await nodeFileSystem.rename(from, to);
          counter.writes += 1;
        },
        open: async (target, flags, mode) => {
          const handle = await nodeFileSystem.open(target, flags, mode);
          if (flags === 'a') counter.writes += 1;
          return handle;
        },
      },
    });
    this.#counter = counter;
  }

  get writes(): number {
    return this.#counter.writes;
  }
}
