import { findBodyStart, readContentLength } from "../parser.js";

/**
 * Cuts a TCP/TLS byte stream into SIP messages by Content-Length (RFC 3261 section 18.3).
 * Handles messages split over many reads (slow senders) and many messages in one read
 * (pipelining). Keep-alive CRLFs between messages (RFC 5626 section 3.5.1) are reported so the
 * transport can answer a double-CRLF ping with a single CRLF pong.
 */
export class StreamFramer {
  private buffer: Buffer = Buffer.alloc(0);

  constructor(private readonly maxMessageBytes: number) {}

  /**
   * Adds bytes and returns what is complete. An error means the stream cannot be framed any more
   * (no Content-Length, a malformed one, or a message over the size limit): close the connection.
   */
  push(chunk: Buffer): { messages: Buffer[]; pings: number; error: string | null } {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const messages: Buffer[] = [];
    let pings = 0;
    for (;;) {
      let start = 0;
      while (start < this.buffer.length && (this.buffer[start] === 13 || this.buffer[start] === 10)) start++;
      if (start > 0) {
        if (start >= 4 && this.buffer.subarray(0, 4).toString("latin1") === "\r\n\r\n") pings++;
        this.buffer = this.buffer.subarray(start);
      }
      if (this.buffer.length === 0) break;
      const bodyStart = findBodyStart(this.buffer);
      if (bodyStart < 0) {
        if (this.buffer.length > this.maxMessageBytes)
          return { messages, pings, error: "header section too large" };
        break;
      }
      const length = readContentLength(this.buffer.toString("latin1", 0, bodyStart));
      if (length === null) return { messages, pings, error: "message without Content-Length" };
      if (Number.isNaN(length)) return { messages, pings, error: "malformed Content-Length" };
      const total = bodyStart + length;
      if (total > this.maxMessageBytes) return { messages, pings, error: "message too large" };
      if (this.buffer.length < total) break;
      messages.push(this.buffer.subarray(0, total));
      this.buffer = this.buffer.subarray(total);
    }
    // Do not keep a large backing buffer alive for a few trailing bytes.
    if (this.buffer.length > 0 && this.buffer.byteOffset > 65536) this.buffer = Buffer.from(this.buffer);
    return { messages, pings, error: null };
  }

  get pendingBytes(): number {
    return this.buffer.length;
  }
}
