import type { IncomingMessage, ServerResponse } from "node:http";
import { GoJsonDecoder, type FrameEvent } from "./go-json-stream.js";

/**
 * The first JSON value of a request body, read the way etcd's gateway reads it (Go's json.Decoder:
 * bytes after the value are not read; a syntax error answers at once). At most `maxValueBytes` of
 * the value are kept in memory; a larger one is scanned to its end and reported by size only.
 * Top-level fields `isKnownKey` does not know are scanned, not kept (see go-json-stream.ts).
 */
export function readFirstValue(req: IncomingMessage, maxValueBytes: number, isKnownKey?: (key: string) => boolean): Promise<FrameEvent> {
  const decoder = new GoJsonDecoder(maxValueBytes, isKnownKey);
  return new Promise((resolve, reject) => {
    const done = (ev: FrameEvent) => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", reject);
      req.off("close", onClose);
      req.pause();
      resolve(ev);
    };
    const onData = (chunk: Buffer) => {
      const [first] = decoder.push(chunk);
      if (first) done(first);
    };
    const onEnd = () => done(decoder.end()[0]!);
    // the client went away before the body ended: there is no one to answer
    const onClose = () => {
      if (!req.complete) reject(new Error("request body aborted"));
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", reject);
    req.on("close", onClose);
  });
}

/** What Go's server reads of a body the handler left unread before it closes the connection instead. */
const MAX_POST_HANDLER_READ_BYTES = 256 * 1024;

/**
 * After the answer to a request whose body was not read to its end: the rest is read and dropped,
 * up to 256 KiB (Go's net/http does the same so the connection can serve the next request); a
 * longer rest closes the connection.
 */
export function discardRest(req: IncomingMessage, res: ServerResponse): void {
  if (req.complete) return;
  let left = MAX_POST_HANDLER_READ_BYTES;
  const drain = () => {
    req.on("data", (c: Buffer) => {
      left -= c.length;
      if (left < 0) req.socket.destroy();
    });
    req.resume();
  };
  if (res.writableFinished) drain();
  else res.once("finish", drain);
}
