import { expect } from "vitest";

export interface SignedIn {
  /** `provisiond_session=<secret>`, ready for a Cookie header. */
  cookie: string;
  /** The whole Set-Cookie line of the sign-in, to check its attributes. */
  setCookie: string;
  csrfToken: string;
  sessionId: string;
}

/** Signs in with e-mail and password as the console does, expecting 201. */
export async function signIn(baseUrl: string, email: string, password: string): Promise<SignedIn> {
  const response = await fetch(`${baseUrl}/api/v1/sessions`, {
    method: "POST",
    headers: { "content-type": "application/json", "user-agent": "vitest console" },
    body: JSON.stringify({ email, password }),
  });
  const text = await response.text();
  expect(response.status, text).toBe(201);
  const body = JSON.parse(text) as { id: string; csrfToken: string };
  const setCookie = response.headers.get("set-cookie") ?? "";
  const cookie = setCookie.split(";")[0] ?? "";
  expect(cookie).toMatch(/^provisiond_session=[A-Za-z0-9_-]{43}$/);
  return { cookie, setCookie, csrfToken: body.csrfToken, sessionId: body.id };
}

/** A client for the admin API that authenticates with the session cookie, as a browser would. */
export function cookieClient(baseUrl: string, cookie: string, csrfToken: string | null) {
  return async function call(
    method: string,
    path: string,
    body?: unknown,
    extraHeaders: Record<string, string> = {},
  ): Promise<{ status: number; json: unknown; text: string; headers: Headers }> {
    const headers: Record<string, string> = { cookie, ...extraHeaders };
    if (csrfToken) headers["x-csrf-token"] = csrfToken;
    if (body !== undefined) headers["content-type"] = "application/json";
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    let json: unknown = null;
    if ((response.headers.get("content-type") ?? "").includes("json") && text) json = JSON.parse(text);
    return { status: response.status, json, text, headers: response.headers };
  };
}
