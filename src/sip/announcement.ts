import { randomInt } from "node:crypto";
import { createSocket, type Socket } from "node:dgram";
import * as sdp from "sdp-transform";
import type { Logger } from "../logger.js";
import type { AnnouncementFiles, AnnouncementLanguage } from "./announcement-files.js";
import type { AnnouncementCase } from "./call-record.js";
import { encodeG711 } from "./g711.js";
import { RtpSender } from "./rtp.js";
import type { ServerTransaction } from "./stack/transaction.js";

type Codec = "PCMU" | "PCMA";
const payloadTypes: Record<Codec, number> = { PCMU: 0, PCMA: 8 };

export interface MediaOffer {
  address: string;
  port: number;
  codec: Codec;
}

/** The audio stream of an SDP offer the announcement can answer: G.711, in the offer's order. */
export function readOffer(body: Buffer): MediaOffer | "no_offer" | "no_codec" {
  if (body.length === 0) return "no_offer";
  let session: sdp.SessionDescription;
  try {
    session = sdp.parse(body.toString("utf8"));
  } catch {
    return "no_offer";
  }
  const audio = (session.media ?? []).find((media) => media.type === "audio" && media.port > 0);
  if (!audio) return "no_codec";
  const address = audio.connection?.ip ?? session.connection?.ip;
  if (!address) return "no_offer";
  const offered = String(audio.payloads ?? "")
    .split(/\s+/)
    .map((pt) => Number(pt));
  for (const pt of offered) {
    if (pt === 0) return { address, port: audio.port, codec: "PCMU" };
    if (pt === 8) return { address, port: audio.port, codec: "PCMA" };
    const named = audio.rtp.find((rtp) => rtp.payload === pt)?.codec.toUpperCase();
    if (named === "PCMU" || named === "PCMA") return { address, port: audio.port, codec: named };
  }
  return "no_codec";
}

/** The SDP answer: our RTP address, the one codec chosen, send-only. */
export function answerSdp(local: { address: string; port: number }, codec: Codec): Buffer {
  const pt = payloadTypes[codec];
  const ipVer = local.address.includes(":") ? 6 : 4;
  const text = sdp.write({
    version: 0,
    origin: {
      username: "provisiond",
      sessionId: randomInt(1, 2 ** 47),
      sessionVersion: 1,
      netType: "IN",
      ipVer,
      address: local.address,
    },
    name: "announcement",
    connection: { version: ipVer, ip: local.address },
    timing: { start: 0, stop: 0 },
    media: [
      {
        type: "audio",
        port: local.port,
        protocol: "RTP/AVP",
        payloads: String(pt),
        rtp: [{ payload: pt, codec, rate: 8000 }],
        ptime: 20,
        direction: "sendonly",
        fmtp: [],
      },
    ],
  });
  return Buffer.from(text, "utf8");
}

/**
 * What the server plays a caller instead of ringing: 183 Session Progress with an SDP answer,
 * the announcement as RTP, and then (the router's part) the final refusal. stop() ends it at
 * once (a CANCEL, a shutdown).
 */
export class Announcement {
  private sender: RtpSender | null = null;
  private socket: Socket | null = null;
  private stopped = false;

  constructor(
    private readonly tx: ServerTransaction,
    private readonly offer: MediaOffer,
    private readonly payload: Buffer,
    private readonly logger: Logger,
  ) {}

  /** Answers 183 and streams; true when the whole announcement went out. */
  async play(): Promise<boolean> {
    const local = this.tx.flow.local.address;
    const socket = createSocket(local.includes(":") ? "udp6" : "udp4");
    this.socket = socket;
    socket.on("error", (error) => this.logger.debug({ err: error }, "SIP: announcement RTP socket error"));
    // Anything the caller sends (its own RTP, RTCP) is ignored: the stream is one-way.
    socket.on("message", () => {});
    await new Promise<void>((resolve) => socket.bind(0, local, () => resolve()));
    try {
      if (this.stopped) return false;
      const port = socket.address().port;
      this.tx.reply(183, {
        headers: [["Content-Type", "application/sdp"]],
        body: answerSdp({ address: local, port }, this.offer.codec),
      });
      this.sender = new RtpSender(socket, this.offer, payloadTypes[this.offer.codec], this.payload);
      return await this.sender.play();
    } finally {
      this.close();
    }
  }

  stop(): void {
    this.stopped = true;
    this.sender?.stop();
  }

  private close(): void {
    try {
      this.socket?.close();
    } catch {
      // closed already
    }
    this.socket = null;
  }
}

/** An organisation's own announcement for an account's group; null: the default file plays. */
export type UploadedAnnouncementSource = (
  groupId: string,
  kind: AnnouncementCase,
  language: AnnouncementLanguage,
) => Promise<Int16Array | null>;

/**
 * Builds announcements from the organisation's upload when there is one, else from the default
 * files, with each audio encoded once per codec.
 */
export class Announcer {
  private readonly encoded = new Map<string, Promise<Buffer>>();
  // Keyed by the decoded upload itself: a new upload is a new array, and the old one's encodings go with it.
  private readonly encodedUploads = new WeakMap<Int16Array, Map<Codec, Buffer>>();

  constructor(
    private readonly files: AnnouncementFiles,
    private readonly logger: Logger,
    private readonly uploaded: UploadedAnnouncementSource = async () => null,
  ) {}

  async prepare(
    tx: ServerTransaction,
    kind: AnnouncementCase,
    language: AnnouncementLanguage,
    offer: MediaOffer,
    groupId: string,
  ): Promise<Announcement> {
    const upload = await this.uploaded(groupId, kind, language).catch((error: unknown) => {
      this.logger.warn({ err: error, groupId }, "SIP: uploaded announcements unreadable; the default plays");
      return null;
    });
    if (upload) return new Announcement(tx, offer, this.encodeUpload(upload, offer.codec), this.logger);
    const key = `${kind}.${language}.${offer.codec}`;
    let payload = this.encoded.get(key);
    if (!payload) {
      payload = this.files.samples(kind, language).then((samples) => encodeG711(samples, offer.codec));
      payload.catch(() => this.encoded.delete(key));
      this.encoded.set(key, payload);
    }
    return new Announcement(tx, offer, await payload, this.logger);
  }

  private encodeUpload(samples: Int16Array, codec: Codec): Buffer {
    let byCodec = this.encodedUploads.get(samples);
    if (!byCodec) {
      byCodec = new Map();
      this.encodedUploads.set(samples, byCodec);
    }
    let payload = byCodec.get(codec);
    if (!payload) {
      payload = encodeG711(samples, codec);
      byCodec.set(codec, payload);
    }
    return payload;
  }
}
