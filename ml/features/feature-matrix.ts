/**
 * The two shapes of featurised data that cross from featurizers into the model. Both are plain
 * typed arrays; tensors are only made from them inside the model code.
 */

/**
 * Compressed sparse rows: row r owns entries indptr[r] .. indptr[r + 1] - 1. The matrix it stands
 * for is rowScale[r] · values[k] · columnScale[indices[k]] (scales default to 1): keeping TF-IDF in
 * this factored form (values = sublinear tf, columnScale = idf, rowScale = 1 / L2 norm) lets the
 * model sum kernel rows without a multiply for the common tf = 1 entries.
 */
export interface SparseMatrix {
  kind: 'sparse';
  rows: number;
  /** Number of columns (the featurizer's vocabulary size). */
  width: number;
  /** Length rows + 1. */
  indptr: Int32Array;
  /** Column of each non-zero, ascending within a row. */
  indices: Int32Array;
  values: Float32Array;
  rowScale?: Float32Array;
  columnScale?: Float32Array;
  /**
   * Columns that every row fills (a text's word vector): kept apart as a dense block, because a
   * hundred non-zeros per row cost the sparse path four times what the words themselves cost. It
   * covers the last `dense.width` columns; its entries are dense.values[r · dense.width + j] ·
   * columnScale[width − dense.width + j], without the row scale.
   */
  dense?: DenseBlock;
}

export interface DenseBlock {
  width: number;
  /** Row-major [rows, width]. */
  values: Float32Array;
}

/** Row-major dense matrix of shape [rows, width]. */
export interface DenseMatrix {
  kind: 'dense';
  rows: number;
  width: number;
  values: Float32Array;
}

export type FeatureMatrix = SparseMatrix | DenseMatrix;

/** Picks rows (in the given order) out of a feature matrix. */
export function selectRows(matrix: FeatureMatrix, rows: readonly number[]): FeatureMatrix {
  if (matrix.kind === 'dense') return { kind: 'dense', rows: rows.length, width: matrix.width, values: copyRows(matrix.values, matrix.width, rows) };
  let nnz = 0;
  for (const row of rows) nnz += matrix.indptr[row + 1] - matrix.indptr[row];
  const indptr = new Int32Array(rows.length + 1);
  const indices = new Int32Array(nnz);
  const values = new Float32Array(nnz);
  let at = 0;
  rows.forEach((row, i) => {
    const start = matrix.indptr[row];
    const end = matrix.indptr[row + 1];
    indices.set(matrix.indices.subarray(start, end), at);
    values.set(matrix.values.subarray(start, end), at);
    at += end - start;
    indptr[i + 1] = at;
  });
  const rowScale = matrix.rowScale ? Float32Array.from(rows, (row) => matrix.rowScale![row]) : undefined;
  const dense = matrix.dense && { width: matrix.dense.width, values: copyRows(matrix.dense.values, matrix.dense.width, rows) };
  return { kind: 'sparse', rows: rows.length, width: matrix.width, indptr, indices, values, rowScale, columnScale: matrix.columnScale, dense };
}

/** Rows (in the given order) of a row-major [*, width] array. */
export function copyRows(values: Float32Array, width: number, rows: ArrayLike<number>): Float32Array {
  const out = new Float32Array(rows.length * width);
  for (let i = 0; i < rows.length; i++) out.set(values.subarray(rows[i] * width, (rows[i] + 1) * width), i * width);
  return out;
}

/** Dot product of rows a and b of the same matrix. */
export function rowDot(matrix: FeatureMatrix, a: number, b: number): number {
  if (matrix.kind === 'dense') {
    const w = matrix.width;
    let sum = 0;
    for (let j = 0; j < w; j++) sum += matrix.values[a * w + j] * matrix.values[b * w + j];
    return sum;
  }
  let i = matrix.indptr[a];
  let j = matrix.indptr[b];
  const iEnd = matrix.indptr[a + 1];
  const jEnd = matrix.indptr[b + 1];
  let sum = 0;
  while (i < iEnd && j < jEnd) {
    const ci = matrix.indices[i];
    const cj = matrix.indices[j];
    if (ci === cj) {
      const scale = matrix.columnScale ? matrix.columnScale[ci] : 1;
      sum += matrix.values[i++] * matrix.values[j++] * scale * scale;
    } else if (ci < cj) i++;
    else j++;
  }
  if (matrix.rowScale) sum *= matrix.rowScale[a] * matrix.rowScale[b];
  if (matrix.dense) {
    const { width, values } = matrix.dense;
    const start = matrix.width - width;
    for (let j = 0; j < width; j++) {
      const scale = matrix.columnScale ? matrix.columnScale[start + j] : 1;
      sum += values[a * width + j] * values[b * width + j] * scale * scale;
    }
  }
  return sum;
}
