/**
 * Client-side checks for the new-project form. They mirror the server's rules so most mistakes
 * are caught before a round trip; the server stays the authority and its `validation_failed`
 * details are shown through the same paths (`name`, `labels.3.hotkey`, ...).
 */
import type { ItemKind, NewProject, ValidationIssue } from '$lib/api/client';

export const MIN_LABELS = 2;
export const MAX_LABELS = 100;
const MAX_NAME = 200;
const MAX_LABEL_NAME = 100;
const MAX_GUIDELINES = 100_000;
/** Keys the labeling page keeps for itself: digits pick labels by position, S skips, ? helps. */
const RESERVED_HOTKEYS = new Set(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 's', '?', ' ']);

export interface LabelRow {
  key: number;
  name: string;
  hotkey: string;
}

export interface ProjectForm {
  name: string;
  kind: ItemKind;
  labels: LabelRow[];
  guidelines: string;
}

/** Issues keyed by path; the first message for a path wins. */
export type IssueMap = Map<string, string>;

export function validateProjectForm(form: ProjectForm): IssueMap {
  const issues: IssueMap = new Map();
  const add = (path: string, message: string) => {
    if (!issues.has(path)) issues.set(path, message);
  };

  const name = form.name.trim();
  if (name === '') add('name', 'Give the project a name.');
  else if (name.length > MAX_NAME) add('name', `Use at most ${MAX_NAME} characters.`);

  if (form.labels.length < MIN_LABELS) {
    add('labels', `A project needs at least ${MIN_LABELS} labels.`);
  } else if (form.labels.length > MAX_LABELS) {
    add('labels', `A project can have at most ${MAX_LABELS} labels.`);
  }

  const seenNames = new Map<string, number>();
  const seenHotkeys = new Map<string, number>();
  form.labels.forEach((label, index) => {
    const name = label.name.trim();
    if (name === '') {
      add(`labels.${index}.name`, 'Enter a label name.');
    } else if (name.length > MAX_LABEL_NAME) {
      add(`labels.${index}.name`, `Use at most ${MAX_LABEL_NAME} characters.`);
    } else {
      // Names are case-sensitive, as on the server; hotkeys are not.
      const first = seenNames.get(name);
      if (first === undefined) seenNames.set(name, index);
      else add(`labels.${index}.name`, `Duplicate of label ${first + 1} (“${name}”).`);
    }

    const hotkey = label.hotkey;
    if (hotkey === '') return;
    if (hotkey.length !== 1) {
      add(`labels.${index}.hotkey`, 'A hotkey is a single character.');
    } else if (RESERVED_HOTKEYS.has(hotkey.toLowerCase())) {
      add(`labels.${index}.hotkey`, 'Digits, S, ? and space are reserved on the labeling page.');
    } else {
      const folded = hotkey.toLowerCase();
      const first = seenHotkeys.get(folded);
      if (first === undefined) seenHotkeys.set(folded, index);
      else add(`labels.${index}.hotkey`, `Hotkey “${hotkey}” is already used by label ${first + 1}.`);
    }
  });

  if (form.guidelines.length > MAX_GUIDELINES) {
    add('guidelines', `Use at most ${MAX_GUIDELINES.toLocaleString()} characters.`);
  }

  return issues;
}

export function toNewProject(form: ProjectForm): NewProject {
  const guidelines = form.guidelines.trim();
  return {
    name: form.name.trim(),
    kind: form.kind,
    labels: form.labels.map((label) =>
      label.hotkey === ''
        ? { name: label.name.trim() }
        : { name: label.name.trim(), hotkey: label.hotkey },
    ),
    ...(guidelines === '' ? {} : { guidelines: form.guidelines }),
  };
}

/** Brings `labels[2].name`, `labels/2/name` and `labels.2.name` to the last form. */
export function normalizeIssuePath(path: string): string {
  return path
    .replace(/\[(\d+)\]/g, '.$1')
    .replace(/^\/+/, '')
    .replace(/\//g, '.')
    .replace(/^body\./, '')
    .replace(/^\.+/, '');
}

export function issuesFromServer(details: ValidationIssue[]): IssueMap {
  const issues: IssueMap = new Map();
  for (const { path, message } of details) {
    const key = normalizeIssuePath(path);
    if (!issues.has(key)) issues.set(key, message);
  }
  return issues;
}
