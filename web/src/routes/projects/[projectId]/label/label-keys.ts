/**
 * The labeling page's keyboard map. Digits pick labels by position (0 is the tenth), each label's
 * own hotkey picks it too (case-insensitive; the project form reserves digits, S, ? and space so
 * they never collide), Enter accepts the model's suggestion, S skips, Backspace undoes and ?
 * toggles the help overlay.
 */
import type { Label } from '$lib/api/client';

export type KeyAction =
  | { kind: 'label'; label: string }
  | { kind: 'accept' }
  | { kind: 'skip' }
  | { kind: 'undo' }
  | { kind: 'help' }
  | { kind: 'close' };

/** The digit that picks the label at `index`, or null past the tenth label. */
export function digitFor(index: number): string | null {
  if (index < 9) return String(index + 1);
  if (index === 9) return '0';
  return null;
}

function isTextEntry(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  if (target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
  if (target instanceof HTMLInputElement) {
    return !['button', 'checkbox', 'radio', 'submit', 'reset', 'range', 'color'].includes(
      target.type,
    );
  }
  return false;
}

/** Buttons and links already answer Enter and Space themselves. */
function isActivatable(target: EventTarget | null): boolean {
  return target instanceof HTMLElement && target.closest('button, a[href], summary') !== null;
}

export function keyAction(event: KeyboardEvent, labels: readonly Label[]): KeyAction | null {
  if (event.defaultPrevented || event.isComposing) return null;
  if (event.ctrlKey || event.metaKey || event.altKey) return null;
  if (isTextEntry(event.target)) return null;
  // Holding a key down must not label a run of items.
  if (event.repeat) return null;

  const key = event.key;
  if (key === '?') return { kind: 'help' };
  if (key === 'Escape') return { kind: 'close' };
  if (key === 'Enter') return isActivatable(event.target) ? null : { kind: 'accept' };
  if (key === 'Backspace') return { kind: 'undo' };
  if (key === 's' || key === 'S') return { kind: 'skip' };

  if (/^[0-9]$/.test(key)) {
    const index = key === '0' ? 9 : Number(key) - 1;
    const label = labels[index];
    return label ? { kind: 'label', label: label.name } : null;
  }
  if (key.length === 1) {
    const folded = key.toLowerCase();
    const label = labels.find((candidate) => candidate.hotkey?.toLowerCase() === folded);
    if (label) return { kind: 'label', label: label.name };
  }
  return null;
}
