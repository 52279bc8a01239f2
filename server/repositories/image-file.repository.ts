/** Image files that items refer to by path; every path stays inside the import folder. */
import { createReadStream, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';

const imageTypes: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
};

export class ImageFileRepository {
  constructor(private readonly importDir: string) {}

  /** Why `relativePath` cannot be used as an item's image, or null when it can. */
  check(relativePath: string): string | null {
    const resolved = this.resolve(relativePath);
    if (resolved === null) return `image path must stay inside the import folder (${this.importDir})`;
    if (!(path.extname(resolved).toLowerCase() in imageTypes)) return 'image file must be .png, .jpg, .jpeg, .gif or .webp';
    try {
      if (!statSync(resolved).isFile()) return 'image path is not a file';
    } catch {
      return `image file not found in the import folder: ${relativePath}`;
    }
    return null;
  }

  open(relativePath: string): { body: ReadableStream<Uint8Array>; contentType: string } | null {
    const resolved = this.resolve(relativePath);
    if (resolved === null || this.check(relativePath) !== null) return null;
    return {
      body: Readable.toWeb(createReadStream(resolved)) as ReadableStream<Uint8Array>,
      contentType: imageTypes[path.extname(resolved).toLowerCase()],
    };
  }

  /** The file's bytes, for training on it; null when the path is not usable. */
  async read(relativePath: string): Promise<Uint8Array | null> {
    const resolved = this.resolve(relativePath);
    if (resolved === null || this.check(relativePath) !== null) return null;
    return new Uint8Array(await readFile(resolved));
  }

  private resolve(relativePath: string): string | null {
    if (relativePath.includes('\0') || path.isAbsolute(relativePath)) return null;
    const resolved = path.resolve(this.importDir, relativePath);
    return resolved.startsWith(this.importDir + path.sep) ? resolved : null;
  }
}
