/** The part of the `smpp` package (no published types) that provisiond and its tests use. */
declare module "smpp" {
  import type { EventEmitter } from "node:events";
  import type { Server as NetServer } from "node:net";

  export interface PDU {
    command: string;
    command_status: number;
    sequence_number: number;
    [field: string]: unknown;
    response(fields?: Record<string, unknown>): PDU;
  }

  export interface Session extends EventEmitter {
    send(pdu: PDU, onResponse?: (pdu: PDU) => void): boolean;
    bind_transceiver(fields: Record<string, unknown>, onResponse: (pdu: PDU) => void): boolean;
    submit_sm(fields: Record<string, unknown>, onResponse: (pdu: PDU) => void): boolean;
    deliver_sm(fields: Record<string, unknown>, onResponse?: (pdu: PDU) => void): boolean;
    enquire_link(fields?: Record<string, unknown>, onResponse?: (pdu: PDU) => void): boolean;
    unbind(fields?: Record<string, unknown>, onResponse?: (pdu: PDU) => void): boolean;
    pause(): void;
    resume(): void;
    close(callback?: () => void): void;
    destroy(callback?: () => void): void;
  }

  export interface Server extends NetServer {
    sessions: Session[];
  }

  export function connect(
    options: { host: string; port: number; tls?: boolean; auto_enquire_link_period?: number },
    listener?: () => void,
  ): Session;
  export function createServer(listener: (session: Session) => void): Server;

  export const ESME_ROK: number;
  export const ESME_RBINDFAIL: number;
  export const ESME_RINVDSTADR: number;
  export const ESME_RTHROTTLED: number;
  export const ESME_RSYSERR: number;
  export const ESM_CLASS: { MC_DELIVERY_RECEIPT: number; [name: string]: number };
}
