import type { CallRecord } from "./call-record.js";
import type { Flow } from "./stack/transport/types.js";

/** One side of a dialog, as the proxy forwards to it and, when it must end the call, sends BYE to it. */
export interface DialogSide {
  accountId: string | null;
  /** The flow requests to this side leave by (its connection, or its NAT address over UDP). */
  flow: Flow;
  /** Its remote target (Contact), the Request-URI of requests to it. */
  contact: string;
  tag: string;
  /** Its From (caller) or To (callee) header value, with its tag. */
  address: string;
  /** The highest CSeq it has sent in the dialog. */
  cseq: number;
}

export interface Dialog {
  callId: string;
  caller: DialogSide;
  callee: DialogSide;
  record: CallRecord;
}

/**
 * The dialogs this proxy is in (established calls): in-dialog requests go to the other side's
 * flow, the call record is closed by the BYE, and disabling an account finds its calls here.
 */
export class Dialogs {
  private readonly byKey = new Map<string, Dialog>();
  private readonly byAccount = new Map<string, Set<Dialog>>();

  private static key(callId: string, tagA: string, tagB: string): string {
    return tagA < tagB ? `${callId}|${tagA}|${tagB}` : `${callId}|${tagB}|${tagA}`;
  }

  /** The dialog of an in-dialog request, and whether the caller sent it. */
  find(callId: string, fromTag: string, toTag: string): { dialog: Dialog; fromCaller: boolean } | undefined {
    const dialog = this.byKey.get(Dialogs.key(callId, fromTag, toTag));
    return dialog ? { dialog, fromCaller: dialog.caller.tag === fromTag } : undefined;
  }

  add(dialog: Dialog): void {
    this.byKey.set(Dialogs.key(dialog.callId, dialog.caller.tag, dialog.callee.tag), dialog);
    for (const id of [dialog.caller.accountId, dialog.callee.accountId]) {
      if (id === null) continue;
      let set = this.byAccount.get(id);
      if (!set) {
        set = new Set();
        this.byAccount.set(id, set);
      }
      set.add(dialog);
    }
  }

  remove(dialog: Dialog): void {
    const key = Dialogs.key(dialog.callId, dialog.caller.tag, dialog.callee.tag);
    if (this.byKey.get(key) === dialog) this.byKey.delete(key);
    for (const id of [dialog.caller.accountId, dialog.callee.accountId]) {
      if (id === null) continue;
      const set = this.byAccount.get(id);
      set?.delete(dialog);
      if (set?.size === 0) this.byAccount.delete(id);
    }
  }

  ofAccount(accountId: string): Dialog[] {
    return [...(this.byAccount.get(accountId) ?? [])];
  }

  size(): number {
    return this.byKey.size;
  }

  all(): Dialog[] {
    return [...this.byKey.values()];
  }
}
