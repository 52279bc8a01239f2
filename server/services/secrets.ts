/**
 * Secrets with node:crypto only. Passwords are scrypt hashes with a per-user salt; session ids,
 * API tokens and invite tokens are 256 random bits, which no one can guess, so a fast SHA-256 of
 * them is enough to keep a stolen database from turning into working credentials.
 */
import { hash, randomBytes, scrypt, type ScryptOptions, timingSafeEqual } from 'node:crypto';

const params = { N: 16384, r: 8, p: 1 };
const keyLength = 32;

function scryptAsync(password: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, keyLength, { ...options, maxmem: 64 * 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/** `scrypt$N$r$p$salt$key`, salt and key in base64url. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password.normalize('NFKC'), salt, params);
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, key] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !key) return false;
  const expected = Buffer.from(key, 'base64url');
  const actual = await scryptAsync(password.normalize('NFKC'), Buffer.from(salt, 'base64url'), { N: Number(n), r: Number(r), p: Number(p) });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** A hash to check unknown emails against, so a login takes as long whether or not the account exists. */
export const decoyPasswordHash = 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

/** A new random secret, e.g. `lw_…` for an API token; shown once and stored only as `hashSecret`. */
export function newSecret(prefix: string): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

/** One call, without a Hash object: every API call with a token hashes it (0.4 µs against 1 µs a hash). */
export function hashSecret(secret: string): string {
  return hash('sha256', secret, 'hex');
}

/** A readable random password for generated accounts (the demo admin). */
export function newPassword(): string {
  return randomBytes(15).toString('base64url');
}
