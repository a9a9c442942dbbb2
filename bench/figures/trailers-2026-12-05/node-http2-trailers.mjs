// A bare node:http2 server answering like a gRPC unary call (headers, one DATA, trailers on wantTrailers), and a
// node:http2 client making 200 calls one after another on port 31777: tcpdump shows the trailers in their own
// segment ~150 µs after the DATA, whatever the server does (capture.sh).
import http2 from "node:http2";
const mode = process.argv[2];
const srv = http2.createServer();
srv.on("stream", (stream) => {
  stream.on("data", () => {});
  stream.on("end", () => {
    stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
    stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
    if (mode === "write-end") { stream.write(Buffer.alloc(40, 1)); stream.end(); }
    else stream.end(Buffer.alloc(40, 1));
  });
});
srv.listen(31777, "127.0.0.1", async () => {
  const c = http2.connect("http://127.0.0.1:31777");
  for (let i = 0; i < 200; i++) {
    await new Promise((res) => {
      const r = c.request({ ":method": "POST", ":path": "/x", "content-type": "application/grpc" });
      r.on("data", () => {}); r.on("end", res); r.end(Buffer.alloc(20));
    });
  }
  c.close(); srv.close();
});
