/**
 * The only module that talks to the Loopwise server. Every call resolves to a typed value or
 * rejects with an ApiError, whether the server answered with its error envelope, answered with
 * something unexpected, or could not be reached at all.
 */

import type { Strategy } from '$ml/sampling/strategies';
import type { LabelMetrics } from '$ml/metrics';
import type { TrainParams } from '$ml/train';

export { STRATEGIES, type Strategy } from '$ml/sampling/strategies';

export type ItemKind = 'text' | 'vector' | 'image';

export interface Label {
  id: number;
  name: string;
  hotkey: string | null;
}

export interface Project {
  id: number;
  name: string;
  kind: ItemKind;
  labels: Label[];
  guidelines: string;
  /** Share of queue picks drawn at random as holdout (evaluation) items. */
  holdoutShare: number;
  /** Labels each item needs, from different annotators. */
  overlap: number;
  leaseSeconds: number;
  /** Whether annotators may see labels others gave. */
  annotatorsSeeAllLabels: boolean;
  /** A retraining round starts by itself after this many new labels; 0 means by hand only. */
  retrainEvery: number;
  /** How the queue orders items once a model exists. */
  strategy: Strategy;
  model: ModelKind;
  promotion: PromotionPolicy;
  /** The round whose model serves suggestions and orders the queue. */
  promotedRoundId: number | null;
  createdAt: string;
  counts: { items: number; labeled: number };
}

export type ProjectPatch = Partial<
  Pick<
    Project,
    | 'name'
    | 'guidelines'
    | 'holdoutShare'
    | 'overlap'
    | 'leaseSeconds'
    | 'annotatorsSeeAllLabels'
    | 'retrainEvery'
    | 'strategy'
    | 'model'
    | 'promotion'
  >
>;


export const MODEL_KINDS = ['softmax', 'mlp'] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];

/** When a finished round's model replaces the promoted one. */
export const PROMOTION_POLICIES = ['if-better', 'always', 'never'] as const;
export type PromotionPolicy = (typeof PROMOTION_POLICIES)[number];

export interface NewProject {
  name: string;
  kind: ItemKind;
  labels: { name: string; hotkey?: string }[];
  guidelines?: string;
}

export interface Annotation {
  label: string;
  annotator: string;
  source: 'human' | 'import';
  createdAt: string;
}

export interface Suggestion {
  label: string;
  confidence: number;
  roundId: number;
}

/** Why the queue chose an item. Holdout picks are random audits used to measure the model. */
export interface QueueReason {
  strategy: string;
  score: number | null;
  holdout: boolean;
}

/** An item leased to one annotator until `leaseExpiresAt`. */
export interface QueueItem {
  id: number;
  externalId: string;
  text?: string;
  features?: (number | null)[];
  /** A URL usable as an image source. */
  image?: string;
  suggestion: { label: string; confidence: number; roundId: number | null } | null;
  reason: QueueReason;
  leaseExpiresAt: string;
}

export interface NewAnnotation {
  label: string;
  /** Optional: the server records the signed-in user. */
  annotator?: string;
  durationMs?: number;
}

export interface SavedAnnotation {
  id: number;
  itemId: number;
  label: string;
  annotator: string;
  source: 'human';
  durationMs: number | null;
  createdAt: string;
  /** 1 for an item's first human label, then one more for each re-decision. */
  version: number;
}

export interface LeaseRenewal {
  renewed: number;
  leaseExpiresAt: string | null;
}

export interface AnnotatorProgress {
  labeledToday: number;
  labeledTotal: number;
  averageMs: number | null;
  remaining: number;
}

export interface Item {
  id: number;
  externalId: string;
  text?: string;
  features?: (number | null)[];
  /** A URL usable as an image source. */
  image?: string;
  label: string | null;
  annotation: Annotation | null;
  suggestion: Suggestion | null;
  createdAt: string;
}

export interface ItemPage {
  items: Item[];
  nextCursor: string | null;
}

export type ItemFilter =
  | { status: 'all' }
  | { status: 'unlabeled' }
  | { status: 'labeled' }
  | { status: 'label'; label: string };

export interface RowError {
  line: number;
  field: string | null;
  message: string;
}

export interface ImportResult {
  imported: number;
  duplicates: number;
  failed: number;
  errors: RowError[];
  errorsTruncated: boolean;
}

export interface Health {
  status: 'ok';
  database: 'pglite' | 'postgres';
  tfjsBackend: 'tensorflow' | 'wasm' | 'cpu';
  version: string;
}

export interface ValidationIssue {
  path: string;
  message: string;
}

export type ExportFormat = 'jsonl' | 'csv';

/** Codes the client itself produces when the server's answer never arrives or is unreadable. */
export const NETWORK_ERROR = 'network_error';
export const BAD_RESPONSE = 'bad_response';
export const ABORTED = 'aborted';

export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    /** HTTP status, or 0 when no response arrived. */
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }

  /** The per-field problems of a `validation_failed` answer, or an empty list. */
  get validationIssues(): ValidationIssue[] {
    if (this.code !== 'validation_failed' || !Array.isArray(this.details)) return [];
    return this.details.filter(
      (d): d is ValidationIssue =>
        typeof d === 'object' &&
        d !== null &&
        typeof (d as ValidationIssue).path === 'string' &&
        typeof (d as ValidationIssue).message === 'string',
    );
  }
}

export type ProjectRole = 'lead' | 'engineer' | 'annotator';
export type Role = 'admin' | ProjectRole;

export interface User {
  id: number;
  email: string;
  name: string;
  isAdmin: boolean;
}

export interface Me {
  user: User;
  via: 'session' | 'token';
  tokenRole: Role | null;
  memberships: { projectId: number; role: Role }[];
}

export interface InviteInfo {
  kind: 'setup' | 'invite';
  email: string | null;
  projectId: number | null;
  projectName: string | null;
  role: ProjectRole | null;
  expiresAt: string;
}

export interface Member {
  userId: number;
  email: string;
  name: string;
  role: ProjectRole;
  active: boolean;
  createdAt: string;
}

export interface CreatedInvite {
  token: string;
  url: string;
  expiresAt: string;
}

export interface ApiToken {
  id: number;
  name: string;
  role: Role;
  createdAt: string;
  expiresAt: string;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

export interface AuditEvent {
  id: string;
  createdAt: string;
  actor: string;
  projectId: number | null;
  action: 'create' | 'change' | 'delete';
  entity: string;
  entityId: string | null;
  before: unknown;
  after: unknown;
}

export interface AuditFilter {
  actor?: string;
  entity?: string;
  action?: AuditEvent['action'];
}

type Fetch = typeof fetch;

/**
 * Sends the browser to the sign-in page, coming back here afterwards. Called on any 401 except
 * from the sign-in calls themselves.
 */
function redirectToLogin() {
  if (typeof window === 'undefined' || window.location.pathname === '/login') return;
  const next = window.location.pathname + window.location.search;
  window.location.assign(`/login?next=${encodeURIComponent(next)}`);
}

const API = '/api';

function errorFromBody(status: number, body: unknown, statusText: string): ApiError {
  const envelope = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } })
    ?.error;
  if (envelope && typeof envelope.code === 'string' && typeof envelope.message === 'string') {
    return new ApiError(status, envelope.code, envelope.message, envelope.details);
  }
  return new ApiError(
    status,
    BAD_RESPONSE,
    `The server answered ${status}${statusText ? ` ${statusText}` : ''} without an error description.`,
  );
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

interface RequestOptions {
  headers?: Record<string, string>;
  /** Lets the request outlive the page (unload handlers); bodies must stay under 64 KiB. */
  keepalive?: boolean;
  /** Answer a 401 to the caller instead of redirecting to the sign-in page. */
  allowAnonymous?: boolean;
}

async function send(
  fetchFn: Fetch,
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  path: string,
  body: unknown,
  options: RequestOptions,
): Promise<{ response: Response; parsed: unknown }> {
  let response: Response;
  try {
    response = await fetchFn(API + path, {
      method,
      headers: {
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...options.headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      keepalive: options.keepalive,
      credentials: 'same-origin',
    });
  } catch (cause) {
    throw new ApiError(0, NETWORK_ERROR, 'Could not reach the server.', String(cause));
  }
  let text: string;
  try {
    text = await response.text();
  } catch (cause) {
    // The connection dropped after the headers arrived: as unknown an outcome as no answer.
    throw new ApiError(0, NETWORK_ERROR, 'The connection to the server broke off.', String(cause));
  }
  const parsed = parseJson(text);
  if (response.status === 401 && !options.allowAnonymous) redirectToLogin();
  if (!response.ok) throw errorFromBody(response.status, parsed, response.statusText);
  return { response, parsed };
}

async function request<T>(
  fetchFn: Fetch,
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  path: string,
  body?: unknown,
  options: RequestOptions = {},
): Promise<T> {
  const { response, parsed } = await send(fetchFn, method, path, body, options);
  if (parsed === undefined) {
    throw new ApiError(response.status, BAD_RESPONSE, 'The server sent an unreadable response.');
  }
  return parsed as T;
}

/** For endpoints that answer 204 No Content. */
async function requestNoContent(
  fetchFn: Fetch,
  method: 'POST' | 'PATCH' | 'DELETE',
  path: string,
  body?: unknown,
  options: RequestOptions = {},
): Promise<void> {
  await send(fetchFn, method, path, body, options);
}

function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined) search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

export function getHealth(fetchFn: Fetch = fetch): Promise<Health> {
  return request(fetchFn, 'GET', '/health');
}

export async function listProjects(fetchFn: Fetch = fetch): Promise<Project[]> {
  const { projects } = await request<{ projects: Project[] }>(fetchFn, 'GET', '/projects');
  return projects;
}

export function getProject(projectId: number, fetchFn: Fetch = fetch): Promise<Project> {
  return request(fetchFn, 'GET', `/projects/${projectId}`);
}

export function createProject(project: NewProject, fetchFn: Fetch = fetch): Promise<Project> {
  return request(fetchFn, 'POST', '/projects', project);
}

export function updateProject(projectId: number, patch: ProjectPatch, fetchFn: Fetch = fetch): Promise<Project> {
  return request(fetchFn, 'PATCH', `/projects/${projectId}`, patch);
}

export function listItems(
  projectId: number,
  options: { filter: ItemFilter; cursor?: string | null; limit?: number },
  fetchFn: Fetch = fetch,
): Promise<ItemPage> {
  const { filter } = options;
  const params = query({
    status: filter.status === 'unlabeled' || filter.status === 'labeled' ? filter.status : undefined,
    label: filter.status === 'label' ? filter.label : undefined,
    cursor: options.cursor ?? undefined,
    limit: options.limit,
  });
  return request(fetchFn, 'GET', `/projects/${projectId}/items${params}`);
}

export function exportUrl(projectId: number, format: ExportFormat): string {
  return `${API}/projects/${projectId}/export${query({ format })}`;
}

const IMPORT_CONTENT_TYPES: Record<string, string> = {
  jsonl: 'application/x-ndjson',
  ndjson: 'application/x-ndjson',
  csv: 'text/csv',
  json: 'application/json',
};

export const IMPORT_EXTENSIONS = Object.keys(IMPORT_CONTENT_TYPES).map((ext) => `.${ext}`);

/** The upload Content-Type for a file name, or null when the extension is not importable. */
export function importContentType(fileName: string): string | null {
  const dot = fileName.lastIndexOf('.');
  if (dot < 0) return null;
  return IMPORT_CONTENT_TYPES[fileName.slice(dot + 1).toLowerCase()] ?? null;
}

export interface UploadProgress {
  loaded: number;
  /** null while the browser cannot tell the size. */
  total: number | null;
}

/**
 * Sends a file as the raw request body. XMLHttpRequest rather than fetch because only it reports
 * upload progress.
 */
export function importItems(
  projectId: number,
  file: File,
  options: { onProgress?: (progress: UploadProgress) => void; signal?: AbortSignal } = {},
): Promise<ImportResult> {
  const contentType = importContentType(file.name);
  if (!contentType) {
    return Promise.reject(
      new ApiError(
        0,
        'unsupported_file_type',
        `Choose a ${IMPORT_EXTENSIONS.join(', ')} file.`,
        { fileName: file.name },
      ),
    );
  }
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `${API}/projects/${projectId}/items`);
    xhr.setRequestHeader('content-type', contentType);
    xhr.setRequestHeader('accept', 'application/json');
    xhr.upload.onprogress = (event) => {
      options.onProgress?.({
        loaded: event.loaded,
        total: event.lengthComputable ? event.total : null,
      });
    };
    xhr.onload = () => {
      const parsed = parseJson(xhr.responseText);
      if (xhr.status === 401) redirectToLogin();
      if (xhr.status < 200 || xhr.status >= 300) {
        reject(errorFromBody(xhr.status, parsed, xhr.statusText));
      } else if (parsed === undefined) {
        reject(new ApiError(xhr.status, BAD_RESPONSE, 'The server sent an unreadable response.'));
      } else {
        resolve(parsed as ImportResult);
      }
    };
    xhr.onerror = () => reject(new ApiError(0, NETWORK_ERROR, 'The upload did not reach the server.'));
    xhr.onabort = () => reject(new ApiError(0, ABORTED, 'The upload was cancelled.'));
    options.signal?.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(file);
  });
}

/**
 * Leases up to `n` items to the annotator; items it already holds come back first. An empty list
 * means the queue has nothing more for now.
 */
export async function nextQueueItems(
  projectId: number,
  annotator: string,
  n: number,
  fetchFn: Fetch = fetch,
): Promise<QueueItem[]> {
  const { items } = await request<{ items: QueueItem[] }>(
    fetchFn,
    'POST',
    `/projects/${projectId}/queue/next`,
    { annotator, n },
  );
  return items;
}

/**
 * Records a human label. The server answers a repeated `idempotencyKey` with the first answer and
 * stores nothing new, so a decision whose response was lost can be sent again safely.
 */
export function submitAnnotation(
  itemId: number,
  annotation: NewAnnotation,
  idempotencyKey: string,
  fetchFn: Fetch = fetch,
): Promise<SavedAnnotation> {
  return request(fetchFn, 'POST', `/items/${itemId}/annotations`, annotation, {
    headers: { 'idempotency-key': idempotencyKey },
  });
}

export function skipItem(
  itemId: number,
  annotator: string,
  fetchFn: Fetch = fetch,
): Promise<{ itemId: number; skipped: true }> {
  return request(fetchFn, 'POST', `/items/${itemId}/skip`, { annotator });
}

/** Gives a held item back to the queue; `keepalive` lets it run while the page unloads. */
export function releaseLease(
  itemId: number,
  annotator: string,
  options: { keepalive?: boolean } = {},
  fetchFn: Fetch = fetch,
): Promise<void> {
  return requestNoContent(fetchFn, 'DELETE', `/items/${itemId}/lease${query({ annotator })}`, undefined, {
    keepalive: options.keepalive,
  });
}

export function renewLeases(
  projectId: number,
  annotator: string,
  fetchFn: Fetch = fetch,
): Promise<LeaseRenewal> {
  return request(fetchFn, 'POST', `/projects/${projectId}/leases/renew`, { annotator });
}

export function getProgress(
  projectId: number,
  annotator: string,
  fetchFn: Fetch = fetch,
): Promise<AnnotatorProgress> {
  // "Today" is the annotator's own day, wherever they are.
  const dayStart = new Date();
  dayStart.setHours(0, 0, 0, 0);
  const params = query({ annotator, dayStart: dayStart.toISOString() });
  return request(fetchFn, 'GET', `/projects/${projectId}/progress${params}`);
}

/** The signed-in user, or null when nobody is signed in. */
export async function getMe(fetchFn: Fetch = fetch): Promise<Me | null> {
  try {
    return await request<Me>(fetchFn, 'GET', '/auth/me', undefined, { allowAnonymous: true });
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return null;
    throw error;
  }
}

export function login(email: string, password: string, fetchFn: Fetch = fetch): Promise<{ user: User }> {
  return request(fetchFn, 'POST', '/auth/login', { email, password }, { allowAnonymous: true });
}

export function logout(fetchFn: Fetch = fetch): Promise<void> {
  return requestNoContent(fetchFn, 'POST', '/auth/logout', undefined, { allowAnonymous: true });
}

export function changePassword(currentPassword: string, newPassword: string, fetchFn: Fetch = fetch): Promise<void> {
  return requestNoContent(fetchFn, 'POST', '/auth/password', { currentPassword, newPassword });
}

export function describeInvite(token: string, fetchFn: Fetch = fetch): Promise<InviteInfo> {
  return request(fetchFn, 'GET', `/auth/invite${query({ token })}`, undefined, { allowAnonymous: true });
}

/** Creates the account an invite (or the first-run setup link) is for, and signs it in. */
export function acceptInvite(
  input: { token: string; email: string; name: string; password: string },
  fetchFn: Fetch = fetch,
): Promise<{ user: User }> {
  return request(fetchFn, 'POST', '/auth/accept', input, { allowAnonymous: true });
}

export async function listMembers(projectId: number, fetchFn: Fetch = fetch): Promise<Member[]> {
  return (await request<{ members: Member[] }>(fetchFn, 'GET', `/projects/${projectId}/members`)).members;
}

export function createInvite(projectId: number, input: { role: ProjectRole; email?: string }, fetchFn: Fetch = fetch): Promise<CreatedInvite> {
  return request(fetchFn, 'POST', `/projects/${projectId}/invites`, input);
}

export async function changeMemberRole(projectId: number, userId: number, role: ProjectRole, fetchFn: Fetch = fetch): Promise<Member[]> {
  return (await request<{ members: Member[] }>(fetchFn, 'PATCH', `/projects/${projectId}/members/${userId}`, { role })).members;
}

export function removeMember(projectId: number, userId: number, fetchFn: Fetch = fetch): Promise<void> {
  return requestNoContent(fetchFn, 'DELETE', `/projects/${projectId}/members/${userId}`);
}

export async function listTokens(fetchFn: Fetch = fetch): Promise<ApiToken[]> {
  return (await request<{ tokens: ApiToken[] }>(fetchFn, 'GET', '/tokens')).tokens;
}

/** The answer carries the secret `token`: the only time the server shows it. */
export function createToken(
  input: { name: string; role: Role; expiresInDays: number },
  fetchFn: Fetch = fetch,
): Promise<ApiToken & { token: string }> {
  return request(fetchFn, 'POST', '/tokens', input);
}

export function revokeToken(tokenId: number, fetchFn: Fetch = fetch): Promise<void> {
  return requestNoContent(fetchFn, 'DELETE', `/tokens/${tokenId}`);
}

export function listAuditEvents(
  projectId: number,
  filter: AuditFilter & { cursor?: string | null; limit?: number },
  fetchFn: Fetch = fetch,
): Promise<{ events: AuditEvent[]; nextCursor: string | null }> {
  const params = query({ ...filter, cursor: filter.cursor ?? undefined });
  return request(fetchFn, 'GET', `/projects/${projectId}/audit${params}`);
}

export function auditCsvUrl(projectId: number, filter: AuditFilter): string {
  return `${API}/projects/${projectId}/audit${query({ ...filter, format: 'csv' })}`;
}

/** Admins only: a deactivated user is signed out everywhere and their tokens stop working. */
export function setUserActive(userId: number, active: boolean, fetchFn: Fetch = fetch): Promise<User & { active: boolean }> {
  return request(fetchFn, 'PATCH', `/users/${userId}`, { active });
}

/** Hyper-parameters a round may override; the server's defaults apply to the rest. */
export type { TrainParams };

export interface NewRound {
  strategy?: Strategy;
  model?: ModelKind;
  params?: TrainParams;
}

export type RoundStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface LaunchedRound {
  id: number;
  number: number;
  status: RoundStatus;
  /** True when a queued round already existed and this launch joined it. */
  collapsed: boolean;
}

export type Interval = [number, number];

export type { LabelMetrics } from '$ml/metrics';

/** Measured on the holdout (random audit) labels. */
export interface RoundMetrics {
  labels: string[];
  count: number;
  accuracy: number;
  accuracyCi: Interval | null;
  macroF1: number;
  macroF1Ci: Interval | null;
  perLabel: LabelMetrics[];
  /** Rows are true labels, columns predicted ones, both in `labels` order. */
  confusion: number[][];
  /** Expected calibration error. */
  ece: number;
  logLoss: number;
}

export interface RoundTimings {
  loadMs?: number;
  featurizeMs?: number;
  trainMs?: number;
  evaluateMs?: number;
  scoreMs?: number;
  writeMs?: number;
}

export interface EpochLogEntry {
  epoch: number;
  trainLoss: number;
  validationLoss: number | null;
}

export type RoundLogEntry = EpochLogEntry | { phase: string; at: string; [key: string]: unknown };

export interface Round {
  id: number;
  number: number;
  status: RoundStatus;
  phase: string | null;
  /** 0 to 1. */
  progress: number;
  etaSeconds: number | null;
  trigger: 'auto' | 'manual';
  strategy: Strategy;
  model: ModelKind;
  params: TrainParams | null;
  trainLabels: number;
  holdoutLabels: number;
  metrics: RoundMetrics | null;
  promoted: boolean;
  promotedAt: string | null;
  promotion: { promoted: boolean; reason: string | null; comparison: unknown } | null;
  timings: RoundTimings | null;
  log: RoundLogEntry[];
  error: string | null;
  createdAt: string;
  finishedAt: string | null;
}

export function isEpochEntry(entry: RoundLogEntry): entry is EpochLogEntry {
  return typeof (entry as EpochLogEntry).epoch === 'number';
}

export interface CurvePoint {
  roundId: number;
  number: number;
  trainLabels: number;
  holdoutLabels: number;
  accuracy: number;
  accuracyCi: Interval | null;
  macroF1: number;
  macroF1Ci: Interval | null;
  promoted: boolean;
}

export interface Dashboard {
  curve: CurvePoint[];
  /** Whether more labels still measurably help, in words. */
  stop: { state: 'collecting' | 'improving' | 'plateau'; message: string };
  /** Hours with human labels only, oldest first. */
  labelsPerHour: { hour: string; labels: number }[];
  annotators: { annotator: string; labels: number; medianMs: number | null; lastAt: string }[];
  queue: {
    items: number;
    open: number;
    openHoldout: number;
    leased: number;
    labeledTraining: number;
    labeledHoldout: number;
    byStrategy: { strategy: string; roundId: number | null; items: number }[];
  };
}

export function launchRound(projectId: number, round: NewRound, fetchFn: Fetch = fetch): Promise<LaunchedRound> {
  return request(fetchFn, 'POST', `/projects/${projectId}/rounds`, round);
}

/** Oldest first. */
export function listRounds(projectId: number, fetchFn: Fetch = fetch): Promise<Round[]> {
  return request(fetchFn, 'GET', `/projects/${projectId}/rounds`);
}

export function getRound(projectId: number, roundId: number, fetchFn: Fetch = fetch): Promise<Round> {
  return request(fetchFn, 'GET', `/projects/${projectId}/rounds/${roundId}`);
}

/** Makes a finished round's model the serving one; also how to roll back to an earlier round. */
export function promoteRound(projectId: number, roundId: number, fetchFn: Fetch = fetch): Promise<Round> {
  return request(fetchFn, 'POST', `/projects/${projectId}/rounds/${roundId}/promote`);
}

export function cancelRound(projectId: number, roundId: number, fetchFn: Fetch = fetch): Promise<Round> {
  return request(fetchFn, 'POST', `/projects/${projectId}/rounds/${roundId}/cancel`);
}

export function getDashboard(projectId: number, hours = 48, fetchFn: Fetch = fetch): Promise<Dashboard> {
  return request(fetchFn, 'GET', `/projects/${projectId}/dashboard${query({ hours })}`);
}

/** What the project's event stream reports; `kind: 'score'` is a scoring run of the pool. */
export type ProjectEvent =
  | { type: 'ready'; projectId: number }
  | {
      type: 'round';
      roundId: number;
      jobId?: number;
      kind: 'round' | 'score';
      status: RoundStatus;
      phase: string | null;
      progress: number;
      etaSeconds: number | null;
      epoch?: { epoch: number; epochs: number; trainLoss: number; validationLoss: number | null };
    }
  | { type: 'metrics'; roundId: number; metrics: RoundMetrics | null; promoted: boolean }
  | { type: 'queue'; roundId: number; scored: number; complete: boolean };

export type EventStreamState = 'connecting' | 'open' | 'reconnecting';

const EVENT_TYPES = ['ready', 'round', 'metrics', 'queue'] as const;
/** After the browser gives up on a stream (it does when an answer is not an event stream). */
const EVENTS_RETRY_MS = 5_000;

/**
 * Follows a project's server-sent events until the returned function is called. The browser
 * reconnects by itself after a dropped connection; events sent meanwhile are lost, so callers
 * should reload what they show on every `ready`.
 */
export function watchProjectEvents(
  projectId: number,
  onEvent: (event: ProjectEvent) => void,
  onState: (state: EventStreamState) => void = () => undefined,
): () => void {
  let source: EventSource | undefined;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;

  const connect = () => {
    onState('connecting');
    const current = new EventSource(`${API}/projects/${projectId}/events`);
    source = current;
    for (const type of EVENT_TYPES) {
      current.addEventListener(type, (message) => {
        const data = parseJson((message as MessageEvent<string>).data);
        if (typeof data !== 'object' || data === null) return;
        if (type === 'ready') onState('open');
        onEvent({ ...data, type } as ProjectEvent);
      });
    }
    current.onerror = () => {
      if (stopped) return;
      onState('reconnecting');
      if (current.readyState === EventSource.CLOSED) retry = setTimeout(connect, EVENTS_RETRY_MS);
    };
  };
  connect();
  return () => {
    stopped = true;
    clearTimeout(retry);
    source?.close();
  };
}
