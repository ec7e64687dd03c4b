import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/logger.js";
import { MethodDispatch } from "../../src/sip/dispatch.js";
import { type SipRequest, serializeMessage } from "../../src/sip/stack/message.js";
import { parseMessage } from "../../src/sip/stack/parser.js";
import { refusalAnswer, refusalResponse, warningValue } from "../../src/sip/stack/refusals.js";
import type { ServerTransaction } from "../../src/sip/stack/transaction.js";

function request(method: string): SipRequest {
  const text = `${method} sip:127.0.0.1 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKref
Max-Forwards: 70
From: <sip:alice@127.0.0.1>;tag=a1
To: <sip:alice@127.0.0.1>
Call-ID: refusal-test
CSeq: 1 ${method}
Content-Length: 0

`;
  const result = parseMessage(Buffer.from(text.replace(/\r?\n/g, "\r\n")));
  if (!result.ok || result.message.kind !== "request") throw new Error("test request does not parse");
  return result.message;
}

describe("SIP refusals", () => {
  it("maps each name to status, reason, Warning and headers, in wire order", () => {
    expect(refusalAnswer({ name: "rate_limited", retryAfterSeconds: 42 })).toEqual({
      status: 403,
      reason: "Forbidden",
      headers: [
        ["Warning", '399 provisiond "too many failed authentication attempts; try again later"'],
        ["Retry-After", "42"],
      ],
    });
    expect(refusalAnswer({ name: "interval_too_brief", minExpiresSeconds: 60 })).toEqual({
      status: 423,
      reason: "Interval Too Brief",
      headers: [["Min-Expires", "60"]],
    });
    expect(refusalAnswer({ name: "account_disabled", detail: null }).headers).toEqual([
      ["Warning", '399 provisiond "account disabled"'],
    ]);
    expect(refusalAnswer({ name: "account_disabled", detail: "unpaid invoice" }).headers).toEqual([
      ["Warning", '399 provisiond "account disabled: unpaid invoice"'],
    ]);
    expect(refusalAnswer({ name: "contacts_exceeded", limit: 5 })).toMatchObject({
      status: 403,
      headers: [["Warning", '399 provisiond "at most 5 contacts per account"']],
    });
    expect(refusalAnswer({ name: "cseq_out_of_order" })).toMatchObject({
      status: 500,
      reason: "Server Internal Error",
    });
    expect(refusalAnswer({ name: "unauthorized", challenges: ["Digest a", "Digest b"] })).toEqual({
      status: 401,
      reason: "Unauthorized",
      headers: [
        ["WWW-Authenticate", "Digest a"],
        ["WWW-Authenticate", "Digest b"],
      ],
    });
    expect(refusalAnswer({ name: "server_error" })).toEqual({
      status: 500,
      reason: "Server Internal Error",
      headers: [],
    });
  });

  it("keeps quotes and backslashes of a detail from breaking the Warning's quoted string", () => {
    expect(warningValue('say "hi" \\ bye')).toBe(`399 provisiond "say 'hi' ' bye"`);
  });

  it("answers a request the parser rejected with the parser's status and reason", () => {
    const response = refusalResponse(request("REGISTER"), {
      name: "malformed_message",
      status: 505,
      detail: "unsupported SIP version",
    });
    const text = serializeMessage(response).toString();
    expect(text.startsWith("SIP/2.0 505 Version Not Supported\r\n")).toBe(true);
    expect(text).toContain('\r\nWarning: 399 provisiond "unsupported SIP version"\r\n');
  });
});

describe("MethodDispatch", () => {
  function transaction(method: string) {
    const replies: Array<{ status: number; headers: Array<readonly [string, string]> }> = [];
    const tx = {
      request: request(method),
      reply: (status: number, options: { headers?: ReadonlyArray<readonly [string, string]> } = {}) =>
        replies.push({ status, headers: [...(options.headers ?? [])] }),
    } as unknown as ServerTransaction;
    return { tx, replies };
  }

  it("hands a served method to its handler, answers OPTIONS with what is served and refuses the rest with 405", () => {
    const handled: string[] = [];
    const dispatch = new MethodDispatch(createLogger("silent")).on("REGISTER", (tx) => {
      handled.push(tx.request.method);
    });
    const register = transaction("REGISTER");
    dispatch.handle(register.tx);
    expect(handled).toEqual(["REGISTER"]);
    expect(register.replies).toEqual([]);

    const options = transaction("OPTIONS");
    dispatch.handle(options.tx);
    expect(options.replies).toEqual([{ status: 200, headers: [["Allow", "REGISTER, OPTIONS"]] }]);

    const invite = transaction("INVITE");
    dispatch.handle(invite.tx);
    expect(invite.replies).toEqual([{ status: 405, headers: [["Allow", "REGISTER, OPTIONS"]] }]);
  });

  it("answers 500 when a handler fails, at once or later", async () => {
    const dispatch = new MethodDispatch(createLogger("silent"))
      .on("REGISTER", async () => {
        throw new Error("database away");
      })
      .on("MESSAGE", () => {
        throw new Error("bug");
      });
    const register = transaction("REGISTER");
    dispatch.handle(register.tx);
    await new Promise((resolve) => setImmediate(resolve));
    expect(register.replies).toEqual([{ status: 500, headers: [] }]);
    const message = transaction("MESSAGE");
    dispatch.handle(message.tx);
    expect(message.replies).toEqual([{ status: 500, headers: [] }]);
  });
});
