import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Files kmplz hands to its Cog servers or takes from them, on disk under DATA_DIR/cog-files and
 * served at `/cog/files/{id}`: the training zip (the trainer reads it as its `input_images` URL)
 * and each checkpoint archive the trainer uploads with Cog's `--upload-url` (the generator reads
 * it as `replicate_weights`). Ids are 128 random bits: the URL is the key.
 */
export class CogFiles {
  constructor(
    private readonly dir: string,
    /** How the Cog servers reach kmplz (COG_CALLBACK_URL). */
    private readonly baseUrl: string,
  ) {}

  async save(name: string, data: Buffer): Promise<{ id: string; url: string }> {
    const safe = name.replace(/[^\w.-]+/g, '_').slice(-80) || 'file';
    const id = `${randomBytes(16).toString('hex')}-${safe}`;
    await mkdir(this.dir, { recursive: true });
    await writeFile(path.join(this.dir, id), data);
    return { id, url: this.url(id) };
  }

  url(id: string): string {
    return `${this.baseUrl}/cog/files/${id}`;
  }

  /** Undefined for an id that is not one of kmplz's files. */
  async read(id: string): Promise<Buffer | undefined> {
    if (!FILE_ID.test(id)) return undefined;
    return readFile(path.join(this.dir, id)).catch(() => undefined);
  }

  async delete(id: string): Promise<void> {
    if (FILE_ID.test(id)) await rm(path.join(this.dir, id), { force: true });
  }
}

export const FILE_ID = /^[0-9a-f]{32}-[\w.-]{1,80}$/;
