import { describe, expect, it } from 'vitest';
import { checkItemRow, type RowContext } from '../../../server/import/item-row.js';

const base: RowContext = {
  kind: 'text',
  labels: new Set(['spam', 'ham']),
  vectorDim: null,
  checkImagePath: (p) => (p === 'cat.png' ? null : `image file not found in the import folder: ${p}`),
};

describe('checkItemRow', () => {
  it('accepts a text row with a known label and a numeric id', () => {
    expect(checkItemRow({ id: 17, text: 'hello', label: 'spam' }, base)).toEqual({
      draft: { externalId: '17', text: 'hello', features: null, image: null, label: 'spam' },
    });
  });

  it.each([
    [{ text: 'x' }, 'id', 'id is required'],
    [{ id: { a: 1 }, text: 'x' }, 'id', 'id must be a string or a number'],
    [{ id: 'a' }, 'text', 'text is required for text items'],
    [{ id: 'a', text: 42 }, 'text', 'text must be a string'],
    [{ id: 'a', text: '   ' }, 'text', 'text is empty'],
    [{ id: 'a', text: 'x'.repeat(200_001) }, 'text', 'text is longer than 200,000 characters'],
    [{ id: 'a', text: 'x', label: 'eggs' }, 'label', 'label "eggs" is not in the project\'s label set'],
    [{ id: 'a', text: 'x', label: 3 }, 'label', 'label must be a string'],
  ])('rejects %j on %s', (record, field, message) => {
    expect(checkItemRow(record as Record<string, unknown>, base)).toEqual({ field, message });
  });

  it('treats an empty label cell as unlabeled', () => {
    expect(checkItemRow({ id: 'a', text: 'x', label: '' }, base)).toMatchObject({ draft: { label: null } });
  });

  describe('vectors', () => {
    const ctx: RowContext = { ...base, kind: 'vector', vectorDim: 3 };

    it('reads arrays with missing values and CSV cells in either notation', () => {
      expect(checkItemRow({ id: 1, features: [1, null, -2.5] }, ctx)).toMatchObject({ draft: { features: [1, null, -2.5] } });
      expect(checkItemRow({ id: 1, features: '[1, 2, 3]' }, ctx)).toMatchObject({ draft: { features: [1, 2, 3] } });
      expect(checkItemRow({ id: 1, features: '1;NaN;3' }, ctx)).toMatchObject({ draft: { features: [1, null, 3] } });
    });

    it('names the bad position and the expected length', () => {
      expect(checkItemRow({ id: 1, features: [1, 'x', 3] }, ctx)).toEqual({ field: 'features', message: 'features[1] is not a finite number' });
      expect(checkItemRow({ id: 1, features: [1, 2] }, ctx)).toEqual({
        field: 'features',
        message: "features has 2 values; this project's items have 3",
      });
    });
  });

  describe('images', () => {
    const ctx: RowContext = { ...base, kind: 'image' };

    it('accepts a base64 data URL or a file in the import folder', () => {
      expect(checkItemRow({ id: 1, image: 'data:image/png;base64,iVBORw0KGgo=' }, ctx)).toHaveProperty('draft');
      expect(checkItemRow({ id: 2, image: 'cat.png' }, ctx)).toHaveProperty('draft');
    });

    it('rejects other data URLs and unknown files', () => {
      expect(checkItemRow({ id: 1, image: 'data:text/html;base64,PHA+' }, ctx)).toMatchObject({ field: 'image' });
      expect(checkItemRow({ id: 1, image: '../../etc/passwd' }, ctx)).toEqual({
        field: 'image',
        message: 'image file not found in the import folder: ../../etc/passwd',
      });
    });
  });
});
