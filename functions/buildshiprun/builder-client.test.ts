import axios from "axios";
import { startRecorder } from "../../test/support/http-recorder.js";
import { createBuilderClient } from "./builder-client.js";

// The wait for of-builder is bounded as a whole, so buildshiprun always reports before its exec_timeout.

const built = { status: 200, body: { imageName: "r/a:1", status: "success", log: ["#1 done"] } };

function clock() {
  let t = 0;
  return { now: () => t, sleep: (ms: number) => Promise.resolve(void (t += ms)) };
}

describe("createBuilderClient deadline", () => {
  it("429 on every attempt → 'no free build slot within 60 s' after backing off, not 30 tries", async () => {
    const builder = await startRecorder(() => ({ status: 429, body: { status: "failure", error: "busy" } }));
    try {
      const client = createBuilderClient({
        url: builder.url,
        payloadSecret: "s",
        http: axios,
        deadlineMs: 60_000,
        ...clock(),
      });
      const outcome = await client.build(Buffer.from("tar"));
      expect(outcome).toMatchObject({ ok: false, reason: "of-builder had no free build slot within 60 s" });
      // Waits of 2, 4, 8, 16 s fit in 60 s; the next (30 s) would not.
      expect(builder.requests).toHaveLength(5);
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
