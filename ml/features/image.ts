/**
 * Images: PNG or JPEG bytes (or a data: URL) are decoded, averaged down (or sampled up) to a small
 * RGB square, scaled to [0, 1] and standardised per channel with statistics fitted on the project.
 * The resulting pixel vector feeds the dense model (softmax or MLP). This module never touches files.
 */
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import type { DenseMatrix } from './feature-matrix';

export type ImageInput = Uint8Array | string;

export interface ImageFeaturizer {
  kind: 'image';
  size: number;
  channelMeans: [number, number, number];
  channelStds: [number, number, number];
}

interface Rgba {
  width: number;
  height: number;
  data: Uint8Array;
}

function bytesOf(input: ImageInput): Uint8Array {
  if (typeof input !== 'string') return input;
  const match = /^data:[^;,]*(;base64)?,(.*)$/s.exec(input);
  if (!match) throw new Error('image input must be bytes or a data: URL');
  return match[1] ? Uint8Array.from(Buffer.from(match[2], 'base64')) : new TextEncoder().encode(decodeURIComponent(match[2]));
}

/** Decodes PNG or JPEG bytes to RGBA. */
export function decodeImage(input: ImageInput): Rgba {
  const bytes = bytesOf(input);
  if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) {
    const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    return { width: png.width, height: png.height, data: new Uint8Array(png.data) };
  }
  if (bytes[0] === 0xff && bytes[1] === 0xd8) {
    const image = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true });
    return { width: image.width, height: image.height, data: image.data };
  }
  throw new Error('unsupported image format (expected PNG or JPEG)');
}

/** Box-filter resize to size × size RGB in [0, 1]; returns Float32Array of length size·size·3 (HWC). */
export function resizeToRgb(image: Rgba, size: number): Float32Array {
  const out = new Float32Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    const y0 = Math.floor((y * image.height) / size);
    const y1 = Math.max(y0 + 1, Math.floor(((y + 1) * image.height) / size));
    for (let x = 0; x < size; x++) {
      const x0 = Math.floor((x * image.width) / size);
      const x1 = Math.max(x0 + 1, Math.floor(((x + 1) * image.width) / size));
      let r = 0;
      let g = 0;
      let b = 0;
      let n = 0;
      for (let yy = y0; yy < y1; yy++) {
        for (let xx = x0; xx < x1; xx++) {
          const p = (yy * image.width + xx) * 4;
          r += image.data[p];
          g += image.data[p + 1];
          b += image.data[p + 2];
          n++;
        }
      }
      const o = (y * size + x) * 3;
      out[o] = r / n / 255;
      out[o + 1] = g / n / 255;
      out[o + 2] = b / n / 255;
    }
  }
  return out;
}

export function fitImageFeaturizer(items: readonly ImageInput[], options: { size?: number } = {}): ImageFeaturizer {
  const size = options.size ?? 32;
  const sums = [0, 0, 0];
  const squares = [0, 0, 0];
  let pixels = 0;
  for (const item of items) {
    const rgb = resizeToRgb(decodeImage(item), size);
    for (let p = 0; p < rgb.length; p += 3) {
      for (let c = 0; c < 3; c++) {
        sums[c] += rgb[p + c];
        squares[c] += rgb[p + c] * rgb[p + c];
      }
    }
    pixels += rgb.length / 3;
  }
  const mean = (c: number) => (pixels > 0 ? sums[c] / pixels : 0.5);
  const std = (c: number) => {
    const variance = pixels > 0 ? squares[c] / pixels - mean(c) ** 2 : 0;
    return variance > 1e-8 ? Math.sqrt(variance) : 1;
  };
  return { kind: 'image', size, channelMeans: [mean(0), mean(1), mean(2)], channelStds: [std(0), std(1), std(2)] };
}

export function transformImages(featurizer: ImageFeaturizer, items: readonly ImageInput[]): DenseMatrix {
  const width = featurizer.size * featurizer.size * 3;
  const values = new Float32Array(items.length * width);
  items.forEach((item, row) => {
    const rgb = resizeToRgb(decodeImage(item), featurizer.size);
    for (let p = 0; p < rgb.length; p++) {
      const c = p % 3;
      values[row * width + p] = (rgb[p] - featurizer.channelMeans[c]) / featurizer.channelStds[c];
    }
  });
  return { kind: 'dense', rows: items.length, width, values };
}
