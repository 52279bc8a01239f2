/** The content fields of an item as the API shows them, shared by every answer that carries items. */
export function itemContentJson(item: {
  itemId: number;
  text: string | null;
  features: Array<number | null> | null;
  image: string | null;
}) {
  return {
    ...(item.text !== null && { text: item.text }),
    ...(item.features !== null && { features: item.features }),
    // Images stored as files are served by the API; data URLs are shown as they are.
    ...(item.image !== null && { image: item.image.startsWith('data:') ? item.image : `/api/items/${item.itemId}/image` }),
  };
}
