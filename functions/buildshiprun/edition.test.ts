import { Writable } from "node:stream";
import axios from "axios";
import { pino } from "pino";
import { createGateway } from "../../shared/gateway.js";
import { startRecorder, type Answer } from "../../test/support/http-recorder.js";
import { createEditionResolver, type EditionSetting } from "./edition.js";

const info = (name: string): Answer => ({
  status: 200,
  body: {
    provider: { provider: name, orchestration: "kubernetes", version: { release: "1", sha: "x" } },
    version: { release: "1", sha: "y" },
    arch: "x86_64",
  },
});

/** A resolver over a real gateway client and server answering /system/info with `answer`; warnings are collected. */
async function resolverFor(setting: EditionSetting, answer: (i: number) => Answer) {
  const server = await startRecorder((_, i) => answer(i));
  const warnings: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      const line = JSON.parse(chunk.toString()) as { level: number; msg: string };
      if (line.level === 40) warnings.push(line.msg);
      done();
    },
  });
  const log = pino({ level: "info" }, sink);
  const gateway = createGateway({
    url: server.url,
    payloadSecret: "p",
    http: axios.create(),
    log,
    sleep: () => Promise.resolve(),
  });
  return {
    edition: createEditionResolver({ setting, gateway, log }),
    requests: server.requests,
    warnings,
    close: server.close,
  };
}

describe("createEditionResolver (openfaas_edition, issue #11)", () => {
  it.each([
    ["ce", { name: "ce", publicImagesOnly: true, source: "openfaas_edition=ce" }],
    ["pro", { name: "pro", publicImagesOnly: false, source: "openfaas_edition=pro" }],
  ] as const)("%s → as set, the gateway never asked", async (setting, expected) => {
    const world = await resolverFor(setting, () => info("faas-netes-ce"));
    try {
      expect(await world.edition()).toEqual(expected);
      expect(world.requests).toEqual([]);
    } finally {
      await world.close();
    }
  });

  it.each([
    ["faas-netes-ce", { name: "ce", publicImagesOnly: true, source: "faas-netes-ce" }],
    ["faasd-ce", { name: "ce", publicImagesOnly: false, source: "faasd-ce" }],
    ["ofc-local", { name: "pro", publicImagesOnly: false, source: "ofc-local" }],
    ["faas-netes (before 0.18.10, no CE checks)", { name: "pro", publicImagesOnly: false, source: "faas-netes" }],
  ])("auto, /system/info names %s → that edition", async (name, expected) => {
    const world = await resolverFor("auto", () => info(name.split(" ")[0]!));
    try {
      expect(await world.edition()).toEqual(expected);
    } finally {
      await world.close();
    }
  });

  it("auto, three deploys at once and one later → /system/info asked once", async () => {
    const world = await resolverFor("auto", () => info("faas-netes-ce"));
    try {
      const editions = await Promise.all([world.edition(), world.edition(), world.edition()]);
      await world.edition();
      expect(new Set(editions.map((e) => e.source))).toEqual(new Set(["faas-netes-ce"]));
      expect(world.requests.map((r) => `${r.method} ${r.path}`)).toEqual(["GET /system/info"]);
    } finally {
      await world.close();
    }
  });

  it("auto, /system/info refused twice then answered → CE (restrictive) with one warning, asked again, then kept", async () => {
    const world = await resolverFor("auto", (i) =>
      i < 2 ? { status: 401, body: "invalid credentials" } : info("ofc-local"),
    );
    try {
      const assumed = { name: "ce", publicImagesOnly: true, source: "gateway info unreachable" };
      expect(await world.edition()).toEqual(assumed);
      expect(await world.edition()).toEqual(assumed);
      expect(await world.edition()).toMatchObject({ name: "pro", source: "ofc-local" });
      expect(await world.edition()).toMatchObject({ name: "pro" });
      expect(world.requests).toHaveLength(3);
      expect(world.warnings).toEqual(["cannot read the gateway's /system/info: deploying as Community Edition"]);
    } finally {
      await world.close();
    }
  });
});
