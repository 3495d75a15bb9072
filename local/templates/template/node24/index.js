"use strict";
// Serves ./function/handler.js on port 8080: the handler gets (event, context) and its resolved value is the reply.
const http = require("node:http");
const handler = require("./function/handler.js");

const port = Number(process.env.http_port || 8080);

function reply(res, status, headers, value) {
  const body = typeof value === "string" || Buffer.isBuffer(value) ? value : JSON.stringify(value ?? "");
  res.writeHead(status, headers);
  res.end(body);
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    const url = new URL(req.url, "http://function.local");
    const event = {
      body: Buffer.concat(chunks).toString("utf8"),
      headers: req.headers,
      method: req.method,
      query: Object.fromEntries(url.searchParams),
      path: url.pathname,
    };
    let status = 200;
    const headers = {};
    const context = {
      status(code) {
        status = code;
        return context;
      },
      headers(values) {
        Object.assign(headers, values);
        return context;
      },
    };
    Promise.resolve()
      .then(() => handler(event, context))
      .then(
        (value) => reply(res, status, headers, value),
        (error) => reply(res, 500, {}, String(error)),
      );
  });
});

// 127.0.0.1 by default: the local runtime runs functions with host networking (DESIGN §8).
const host = process.env.http_host || "127.0.0.1";
server.listen(port, host, () => console.log(`listening on ${host}:${port}`));

// Docker stops a container with SIGTERM, which node as PID 1 ignores: without this, each stop (scale to 0, update,
// the local runtime's own stop) waits Docker's 10 s and then kills calls mid-way. Like the OpenFaaS watchdog: finish
// the calls in flight, then exit.
process.on("SIGTERM", () => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
});
