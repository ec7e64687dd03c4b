import { expect } from "vitest";

/** A small client for the admin API, authenticated with one token. */
export function apiClient(baseUrl: string, token: string | null) {
  async function call(
    method: string,
    path: string,
    body?: unknown,
    /** Sends a string or byte body as it is, with this content type, instead of JSON. */
    contentType?: string,
  ): Promise<{ status: number; json: unknown; text: string; headers: Headers }> {
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers["content-type"] = contentType ?? "application/json";
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers,
      ...(body !== undefined
        ? { body: contentType ? (body instanceof Uint8Array ? body : String(body)) : JSON.stringify(body) }
        : {}),
    });
    const text = await response.text();
    let json: unknown = null;
    if ((response.headers.get("content-type") ?? "").includes("json") && text) json = JSON.parse(text);
    return { status: response.status, json, text, headers: response.headers };
  }
  /** Calls and expects a status, returning the JSON body typed as asked. */
  async function ok<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    status = method === "POST" ? 201 : 200,
  ): Promise<T> {
    const result = await call(method, path, body);
    expect(result.status, `${method} ${path}: ${result.text}`).toBe(status);
    return result.json as T;
  }
  return { call, ok };
}

export type ApiClient = ReturnType<typeof apiClient>;
