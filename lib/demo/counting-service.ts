import { EncryptionService } from '../encryption/encryption-service.js';

/** An EncryptionService that counts the files it has written, for the demonstration's table. */
export class CountingEncryptionService extends EncryptionService {
  #writes = 0;

  get writes(): number {
    return this.#writes;
  }

  override async encryptToFile(plaintext: string, filePath: string): Promise<void> {
    await super.encryptToFile(plaintext, filePath);
    this.#writes += 1;
  }
}
