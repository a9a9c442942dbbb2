import type { MemberProcess } from "./member-process.js";

/**
 * POSTs `body` to the member's JSON gateway. A streaming answer is read for `streamMs`, then the
 * client goes away (how a gateway stream ends); `streamMs` 0 reads the whole answer (bounded: 10 s).
 */
export async function gatewayPost(m: MemberProcess, path: string, body: string, streamMs = 0): Promise<{ status: number; body: string }> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), streamMs || 10_000);
  try {
    const res = await fetch(`${m.clientUrl}${path}`, { method: "POST", body, signal: ac.signal });
    let text = "";
    try {
      const reader = res.body!.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += Buffer.from(value).toString();
      }
    } catch {
      /* aborted: the client went away */
    }
    return { status: res.status, body: text };
  } finally {
    clearTimeout(timer);
  }
}
