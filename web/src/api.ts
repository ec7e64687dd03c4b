/**
 * The console's only way to the server: the public admin API under /api/v1, with the session
 * cookie the browser keeps and the session's CSRF token on every unsafe request. Refusals come
 * back as the server's problem (application/problem+json), so pages can show its detail.
 */

export interface FieldError {
  path: string;
  message: string;
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: FieldError[];
}

export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail);
  }
}

export interface Page<T> {
  items: T[];
  page: number;
  pageSize: number;
  total: number;
}

let csrfToken: string | null = null;
let sessionEnded: () => void = () => {};

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** Called when an API answer says the session is gone (expired, ended elsewhere). */
export function onSessionEnded(callback: () => void): void {
  sessionEnded = callback;
}

const unsafe = new Set(["POST", "PUT", "PATCH", "DELETE"]);

async function problemOf(response: Response): Promise<Problem> {
  const type = response.headers.get("content-type") ?? "";
  if (type.includes("json")) {
    try {
      const body = (await response.json()) as Partial<Problem>;
      return {
        type: body.type ?? "about:blank",
        title: body.title ?? response.statusText,
        status: body.status ?? response.status,
        detail: body.detail ?? response.statusText,
        ...(body.errors ? { errors: body.errors } : {}),
      };
    } catch {
      // fall through to the status line
    }
  }
  return {
    type: "about:blank",
    title: response.statusText,
    status: response.status,
    detail: response.statusText,
  };
}

export interface RequestOptions {
  /** Send the body as this content type, as it is (CSV imports), instead of JSON. */
  contentType?: string;
  /** A 401 is expected here (sign-in, who am I): it does not end the session in the page. */
  quietUnauthorized?: boolean;
}

export async function request<T>(method: string, path: string, body?: unknown, options: RequestOptions = {}) {
  const headers: Record<string, string> = { accept: "application/json" };
  if (unsafe.has(method) && csrfToken) headers["x-csrf-token"] = csrfToken;
  let payload: string | undefined;
  if (body !== undefined) {
    headers["content-type"] = options.contentType ?? "application/json";
    payload = options.contentType ? String(body) : JSON.stringify(body);
  }
  let response: Response;
  try {
    response = await fetch(path, { method, headers, body: payload, credentials: "same-origin" });
  } catch (error) {
    throw new ApiError({
      type: "about:blank",
      title: "Network error",
      status: 0,
      detail: error instanceof Error ? error.message : String(error),
    });
  }
  if (!response.ok) {
    const problem = await problemOf(response);
    if (response.status === 401 && !options.quietUnauthorized) sessionEnded();
    throw new ApiError(problem);
  }
  if (response.status === 204) return undefined as T;
  const type = response.headers.get("content-type") ?? "";
  return (type.includes("json") ? await response.json() : await response.text()) as T;
}

export const api = {
  get: <T>(path: string, options?: RequestOptions) => request<T>("GET", path, undefined, options),
  post: <T>(path: string, body?: unknown, options?: RequestOptions) =>
    request<T>("POST", path, body ?? {}, options),
  patch: <T>(path: string, body: unknown) => request<T>("PATCH", path, body),
  put: <T>(path: string, body: unknown) => request<T>("PUT", path, body),
  delete: <T>(path: string) => request<T>("DELETE", path),
};

/** A query string from the values that are set. */
export function query(values: Record<string, string | number | boolean | null | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(values)) {
    if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}
