import axios from "axios";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { startRecorder } from "../../test/support/http-recorder.js";
import { createBuilderClient } from "./builder-client.js";

// The wait for of-builder is bounded as a whole, so buildshiprun always reports before its exec_timeout.

const built = { status: 200, body: { imageName: "r/a:1", status: "success", log: ["#1 done"] } };

/** A clock whose sleeps pass at once and are recorded in `waits`. */
function clock() {
  let t = 0;
  const waits: number[] = [];
  return { now: () => t, sleep: (ms: number) => Promise.resolve(void (waits.push(ms), (t += ms))), waits };
}

describe("createBuilderClient deadline", () => {
  it("429 on every attempt → asked again after 1, 2, then every 4 s → 'no free build slot within 60 s'", async () => {
    const builder = await startRecorder(() => ({ status: 429, body: { status: "failure", error: "busy" } }));
    try {
      const { now, sleep, waits } = clock();
      const client = createBuilderClient({
        url: builder.url,
        payloadSecret: "s",
        http: axios,
        deadlineMs: 60_000,
        now,
        sleep,
        random: () => 0,
      });
      const outcome = await client.build(Buffer.from("tar"));
      expect(outcome).toMatchObject({ ok: false, reason: "of-builder had no free build slot within 60 s" });
      // A freed slot waits at most 4 s for the next ask; 1 + 2 + 14 × 4 = 59 s, and one more 4 s would pass 60.
      expect(waits).toEqual([1_000, 2_000, ...Array<number>(14).fill(4_000)]);
      expect(builder.requests).toHaveLength(17);
    } finally {
      await builder.close();
    }
  });

  it("the 429 waits are shortened by up to half at random, so builds waiting together do not ask in step", async () => {
    const builder = await startRecorder((_, i) => (i < 3 ? { status: 429 } : built));
    try {
      const { now, sleep, waits } = clock();
      const client = createBuilderClient({
        url: builder.url,
        payloadSecret: "s",
        http: axios,
        now,
        sleep,
        random: () => 0.999,
      });
      expect(await client.build(Buffer.from("tar"))).toMatchObject({ ok: true });
      expect(waits).toEqual([500, 1_001, 2_002]);
    } finally {
      await builder.close();
    }
  });

  it("429 twice, then built → success", async () => {
    const builder = await startRecorder((_, i) => (i < 2 ? { status: 429 } : built));
    try {
      const client = createBuilderClient({ url: builder.url, payloadSecret: "s", http: axios, ...clock() });
      expect(await client.build(Buffer.from("tar"))).toMatchObject({ ok: true, imageName: "r/a:1" });
    } finally {
      await builder.close();
    }
  });

  it("a build answering after the deadline → 'build took longer than 1 s'", async () => {
    const builder = await startRecorder(() => new Promise((resolve) => setTimeout(() => resolve(built), 1_500)));
    try {
      const client = createBuilderClient({ url: builder.url, payloadSecret: "s", http: axios, deadlineMs: 1_000 });
      expect(await client.build(Buffer.from("tar"))).toMatchObject({ ok: false, reason: "build took longer than 1 s" });
    } finally {
      await builder.close();
    }
  });
});

/** An of-builder stand-in that streams: `script` writes to the open ndjson answer. */
async function streamingBuilder(script: (res: ServerResponse) => Promise<void>) {
  const accepts: (string | undefined)[] = [];
  const server = createServer((req, res) => {
    accepts.push(req.headers.accept);
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/x-ndjson" });
      void script(res).catch(() => res.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    accepts,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const line = (value: unknown) => `${JSON.stringify(value)}\n`;

describe("createBuilderClient stream (Accept: application/x-ndjson)", () => {
  it("log lines, then the result → onLog gets each line before the build ends; the outcome is the result line", async () => {
    let seen: () => void = () => undefined;
    const firstSeen = new Promise<void>((resolve) => (seen = resolve));
    const builder = await streamingBuilder(async (res) => {
      res.write(line({ log: "#1 [1/2] FROM base" }));
      // The result is held back until the client has shown the first line: the log is live, not read at the end.
      await firstSeen;
      res.write(line({ log: "#2 RUN npm test" }));
      res.end(line({ imageName: "r/a:1", status: "success", log: ["#1 [1/2] FROM base", "#2 RUN npm test"] }));
    });
    try {
      const client = createBuilderClient({ url: builder.url, payloadSecret: "s", http: axios });
      const lines: string[] = [];
      const outcome = await client.build(Buffer.from("tar"), (l) => {
        lines.push(l);
        seen();
      });
      expect(lines).toEqual(["#1 [1/2] FROM base", "#2 RUN npm test"]);
      expect(outcome).toEqual({ ok: true, imageName: "r/a:1", log: ["#1 [1/2] FROM base", "#2 RUN npm test"] });
      expect(builder.accepts[0]).toContain("application/x-ndjson");
    } finally {
      await builder.close();
    }
  });

  it("a failed build's stream → not ok, the builder's error as the reason", async () => {
    const builder = await streamingBuilder((res) => {
      res.write(line({ log: "#2 npm ERR! Test failed" }));
      res.end(line({ imageName: "r/a:1", status: "failure", log: ["#2 npm ERR! Test failed"], error: "exit code: 1" }));
      return Promise.resolve();
    });
    try {
      const client = createBuilderClient({ url: builder.url, payloadSecret: "s", http: axios });
      expect(await client.build(Buffer.from("tar"))).toMatchObject({ ok: false, reason: "exit code: 1" });
    } finally {
      await builder.close();
    }
  });

  it("a stream that ends without a result line every time (the builder dies) → sent 4 times, then 'stopped mid-build'", async () => {
    const builder = await streamingBuilder((res) => {
      res.end(line({ log: "#1 starting" }));
      return Promise.resolve();
    });
    try {
      const client = createBuilderClient({ url: builder.url, payloadSecret: "s", http: axios, ...clock() });
      const lines: string[] = [];
      expect(await client.build(Buffer.from("tar"), (l) => lines.push(l))).toMatchObject({
        ok: false,
        reason: "builder lost the build: of-builder stopped mid-build",
      });
      expect(builder.accepts).toHaveLength(4);
      expect(lines.slice(0, 2)).toEqual([
        "#1 starting",
        "buildshiprun: of-builder stopped mid-build; sending the build again in 1 s",
      ]);
      expect(lines.filter((l) => l === "#1 starting")).toHaveLength(4);
    } finally {
      await builder.close();
    }
  });

  it("the connection cut mid-build (of-builder killed), then it is back → the build is sent again and succeeds", async () => {
    const builder = await streamingBuilder((res) => {
      res.write(line({ log: "#1 starting" }));
      if (builder.accepts.length === 1) res.destroy();
      else res.end(line({ imageName: "r/a:1", status: "success", log: ["#1 starting"] }));
      return Promise.resolve();
    });
    try {
      const client = createBuilderClient({ url: builder.url, payloadSecret: "s", http: axios, ...clock() });
      const lines: string[] = [];
      expect(await client.build(Buffer.from("tar"), (l) => lines.push(l))).toMatchObject({
        ok: true,
        imageName: "r/a:1",
      });
      expect(builder.accepts).toHaveLength(2);
      expect(lines).toContainEqual(
        expect.stringMatching(/^buildshiprun: builder unreachable: .+; sending the build again in 1 s$/),
      );
    } finally {
      await builder.close();
    }
  });

  it("of-builder not listening at all → 'builder unreachable' after 3 resends within the deadline, not before", async () => {
    const builder = await streamingBuilder(() => Promise.resolve());
    await builder.close();
    const { now, sleep, waits } = clock();
    const client = createBuilderClient({
      url: builder.url,
      payloadSecret: "s",
      http: axios,
      now,
      sleep,
    });
    expect(await client.build(Buffer.from("tar"))).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^builder unreachable: .*ECONNREFUSED/),
    });
    expect(waits).toEqual([1_000, 4_000, 9_000]);
  });

  it("log lines that keep coming past the deadline → 'build took longer than 1 s' (the deadline is not an idle timeout)", async () => {
    const builder = await streamingBuilder(async (res) => {
      for (let i = 0; i < 40 && !res.destroyed; i++) {
        res.write(line({ log: `tick ${i}` }));
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      res.end(line({ imageName: "r/a:1", status: "success", log: [] }));
    });
    try {
      const client = createBuilderClient({ url: builder.url, payloadSecret: "s", http: axios, deadlineMs: 1_000 });
      const lines: string[] = [];
      expect(await client.build(Buffer.from("tar"), (l) => lines.push(l))).toMatchObject({
        ok: false,
        reason: "build took longer than 1 s",
      });
      expect(lines.length).toBeGreaterThan(3);
    } finally {
      await builder.close();
    }
  });
});
