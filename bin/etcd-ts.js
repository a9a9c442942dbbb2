#!/usr/bin/env node
// The etcd-ts server (runs the compiled TypeScript; `npm install` builds it).
await import("../dist/server/main.js");
