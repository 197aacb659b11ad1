#!/usr/bin/env node
// A tiny static file server for the browser example: serves the repository root (so the page's
// import map can reach /generated/index.js) on localhost, a secure context where WebGPU is allowed.
//
//   node examples/browser/serve.mjs [--port 8080] [--host 127.0.0.1]
//   then open http://localhost:8080/examples/browser/
//
// Also a module: `startServer({ port: 0 })` resolves to { url, port, close } (tests use it).
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

const MIME = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".wgsl": "text/wgsl; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".md": "text/markdown; charset=utf-8",
  ".ts": "text/plain; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
};

function send(res, status, text) {
  res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store" });
  res.end(text);
}

function handle(root, req, res) {
  if (req.method !== "GET" && req.method !== "HEAD") return send(res, 405, "method not allowed\n");
  let pathname;
  try {
    pathname = decodeURIComponent(new URL(req.url ?? "/", "http://localhost").pathname);
  } catch {
    return send(res, 400, "bad request\n");
  }
  if (pathname === "/") {
    res.writeHead(302, { Location: "/examples/browser/" });
    return res.end();
  }
  let file = path.join(root, pathname);
  if (file !== root && !file.startsWith(root + path.sep)) return send(res, 403, "forbidden\n");
  fs.stat(file, (err, st) => {
    if (!err && st.isDirectory()) {
      if (!pathname.endsWith("/")) {
        res.writeHead(301, { Location: `${pathname}/` });
        return res.end();
      }
      file = path.join(file, "index.html");
    }
    fs.readFile(file, (err2, body) => {
      if (err2) return send(res, 404, `not found: ${pathname}\n`);
      res.writeHead(200, {
        "Content-Type": MIME[path.extname(file).toLowerCase()] ?? "application/octet-stream",
        "Content-Length": body.length,
        "Cache-Control": "no-store",
      });
      res.end(req.method === "HEAD" ? undefined : body);
    });
  });
}

/** Serve `root` (default: the repository root); port 0 picks a free port. */
export function startServer({ root = ROOT, port = 8080, host = "127.0.0.1" } = {}) {
  const server = http.createServer((req, res) => handle(path.resolve(root), req, res));
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      const { port: actual } = server.address();
      const name = host === "127.0.0.1" || host === "::1" ? "localhost" : host;
      resolve({
        port: actual,
        url: `http://${name}:${actual}/`,
        close: () => new Promise((done) => {
          server.closeAllConnections();
          server.close(() => done());
        }),
      });
    });
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const arg = (name, fallback) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
  };
  const { url } = await startServer({ port: Number(arg("port", 8080)), host: arg("host", "127.0.0.1") });
  console.log(`serving ${ROOT}\nopen ${url}examples/browser/`);
}
