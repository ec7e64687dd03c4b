import { randomBytes, randomInt } from "node:crypto";
import type { Socket } from "node:dgram";

/** 20 ms of 8 kHz audio: one G.711 packet's payload and its timestamp step. */
export const samplesPerPacket = 160;
const packetIntervalMs = 20;

/**
 * An RTP sender (RFC 3550) for one announcement: 20 ms packets paced against the clock it
 * started at (so timer jitter does not add up), sequence number and timestamp from random
 * starting points, a random SSRC, the marker bit on the first packet of the talk spurt.
 */
export class RtpSender {
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private resolveDone: ((completed: boolean) => void) | null = null;
  readonly ssrc = randomBytes(4).readUInt32BE(0);
  private sequence = randomInt(0, 0x10000);
  private timestamp = randomInt(0, 0x100000000);
  packetsSent = 0;

  constructor(
    private readonly socket: Socket,
    private readonly remote: { address: string; port: number },
    private readonly payloadType: number,
    private readonly payload: Buffer,
  ) {}

  /** Streams the whole payload; true when it was all sent, false when stopped. */
  play(): Promise<boolean> {
    const packets = Math.ceil(this.payload.length / samplesPerPacket);
    const start = performance.now();
    return new Promise<boolean>((resolve) => {
      this.resolveDone = resolve;
      const next = (): void => {
        if (this.stopped) return;
        if (this.packetsSent >= packets) {
          this.finish(true);
          return;
        }
        this.sendPacket(this.packetsSent);
        const due = start + this.packetsSent * packetIntervalMs;
        this.timer = setTimeout(next, Math.max(0, due - performance.now()));
      };
      next();
    });
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.finish(false);
  }

  private finish(completed: boolean): void {
    const resolve = this.resolveDone;
    this.resolveDone = null;
    resolve?.(completed);
  }

  private sendPacket(index: number): void {
    const chunk = Buffer.alloc(samplesPerPacket, this.payloadType === 0 ? 0xff : 0xd5);
    this.payload.copy(chunk, 0, index * samplesPerPacket, (index + 1) * samplesPerPacket);
    const header = Buffer.allocUnsafe(12);
    header[0] = 0x80; // version 2, no padding, no extension, no CSRC
    header[1] = (index === 0 ? 0x80 : 0) | (this.payloadType & 0x7f);
    header.writeUInt16BE(this.sequence, 2);
    header.writeUInt32BE(this.timestamp >>> 0, 4);
    header.writeUInt32BE(this.ssrc, 8);
    this.sequence = (this.sequence + 1) & 0xffff;
    this.timestamp = (this.timestamp + samplesPerPacket) % 0x100000000;
    this.packetsSent++;
    try {
      this.socket.send(Buffer.concat([header, chunk]), this.remote.port, this.remote.address);
    } catch {
      // The socket closed under us (a shutdown): the stream ends with it.
      this.stop();
    }
  }
}
