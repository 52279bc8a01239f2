/**
 * Long id lists read from PostgreSQL packed as bytes (`int4send`, 4 big-endian bytes per value)
 * instead of as rows or array text: a hundred thousand ids arrive in one buffer and are read in
 * about a millisecond, where parsing them would hold up request handling for tens.
 */
import { type RawBuilder, sql } from 'kysely';

/** SQL: the `integer` expression `value` over rows, packed in `order` (a bytea; null for no rows). */
export const packInt4 = (value: RawBuilder<unknown>, order: RawBuilder<unknown>) =>
  sql<Uint8Array | null>`string_agg(int4send(${value}), ''::bytea order by ${order})`;

/** SQL: an `integer[]` column packed in array order (null when the column is null or empty). */
export const packInt4Array = (column: string) =>
  sql<Uint8Array | null>`(select ${packInt4(sql`u.x`, sql`u.o`)} from unnest(${sql.ref(column)}) with ordinality as u(x, o))`;

/** The integers of a packed buffer (none for null). */
export function unpackInt4(bytes: Uint8Array | null): number[] {
  if (!bytes) return [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const values = new Array<number>(bytes.byteLength >> 2);
  for (let i = 0; i < values.length; i++) values[i] = view.getInt32(i * 4);
  return values;
}
