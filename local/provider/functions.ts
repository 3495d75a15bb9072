import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { FunctionDeployment } from "../../shared/gateway.js";
import { HttpError } from "../../shared/http-error.js";
import type { ContainerApi } from "./container-api.js";
import { containerName, fromLabels, LABELS, type ContainerSummary } from "./container-spec.js";
import { toStatus, type FunctionStatusBody } from "./deployment.js";
import { createInstances, type Instance, type InstancesDeps } from "./instances.js";
import { stageTimer } from "../../shared/stage-timing.js";

/** What the function provider runs on. */
export interface FunctionsDeps extends Omit<InstancesDeps, "readyTimeoutMs"> {
  containers: ContainerApi;
  now: () => Date;
  /** How long a new container has to answer HTTP (default 30 s). */
  readyTimeoutMs?: number;
  /** How long an update waits for calls still running on the old container before removing it (default 10 s). */
  drainTimeoutMs?: number;
}

/** Where to send a call: a ready function's port (call `release` when done), "not-ready", or undefined (unknown). */
export type Target = { port: number; release(): void } | "not-ready" | undefined;

/** Functions deployed as containers (DESIGN §7), behind /system/functions and /function/<name>. */
export interface Functions {
  list(): Promise<FunctionStatusBody[]>;
  get(name: string): Promise<FunctionStatusBody | undefined>;
  /** POST: 500 when it exists (faas-netes: the Deployment create fails); answers before the function is ready. */
  deploy(deployment: FunctionDeployment): Promise<void>;
  /** PUT: 404 when absent; resolves once the new container answers and has taken over the traffic. */
  update(deployment: FunctionDeployment): Promise<void>;
  /** DELETE: 404 when absent; removes the container and the function's secret files. */
  remove(name: string): Promise<void>;
  /**
   * POST /system/scale-function: 0 stops the container (kept, so its logs stay and it can start again), 1 or more
   * starts it again if stopped. One container per function: more than 1 is taken as 1. 404 when absent.
   */
  scale(name: string, replicas: number): Promise<void>;
  /** The id of the function's current container, for its logs; undefined when the function does not exist. */
  containerOf(name: string): Promise<string | undefined>;
  /** For the proxy; counts the invocation. A function scaled to 0 is started first and waited for (scale from zero). */
  target(name: string): Promise<Target>;
  /** Stops background readiness polls; the containers keep running. */
  close(): void;
}

interface Entry {
  deployment: FunctionDeployment;
  createdAt: string;
  instance: Instance;
  invocations: number;
  /** Desired replicas: 0 (scaled to zero, container stopped) or 1. */
  replicas: 0 | 1;
  /**
   * The readiness poll of the container just started (deployed, found after a restart, or back from 0): calls that
   * arrive meanwhile wait for it, as OpenFaaS's gateway holds them until a replica is available (issue #18).
   */
  waking?: Promise<boolean>;
}

// Kept beside the function's secret folders: a container stopped on purpose stays stopped across gateway restarts
// (Docker cannot relabel a container, and a stopped container alone could also be one that crashed).
const SCALED_TO_ZERO = "scaled-to-zero";

/**
 * Functions kept in memory and in Docker: each container carries its FunctionDeployment in a label, so a new gateway
 * rebuilds the list from `GET /containers/json`. Operations on one function run one at a time.
 */
export function createFunctions(deps: FunctionsDeps): Functions {
  const readyTimeoutMs = deps.readyTimeoutMs ?? 30_000;
  const instances = createInstances({ ...deps, readyTimeoutMs });
  const entries = new Map<string, Entry>();
  const queues = new Map<string, Promise<unknown>>();
  let restored: Promise<void> | undefined;

  // Rebuilt on first use; a failed rebuild (daemon down) is retried on the next call.
  const loaded = () =>
    (restored ??= restore().catch((err: unknown) => {
      restored = undefined;
      throw err;
    }));

  function serial<T>(name: string, work: () => Promise<T>): Promise<T> {
    const result = (queues.get(name) ?? Promise.resolve()).then(work);
    const tail = result.catch(() => undefined);
    queues.set(name, tail);
    void tail.then(() => queues.get(name) === tail && queues.delete(name));
    return result;
  }

  async function restore(): Promise<void> {
    const byName = new Map<string, ContainerSummary[]>();
    for (const c of await deps.containers.listByLabel(LABELS.function)) {
      const name = c.Labels?.[LABELS.function] ?? "";
      byName.set(name, [...(byName.get(name) ?? []), c]);
    }
    for (const [name, found] of byName) {
      // Two containers: an update was interrupted. Keep the one holding the function's name, else the newest.
      const named = found.find((c) => c.Names.includes(`/${containerName(name)}`));
      const keep = named ?? found.reduce((a, b) => (b.Created > a.Created ? b : a));
      // One being removed already (an update's old container, after its answer) refuses a second removal: leave it.
      for (const c of found) {
        if (c === keep) continue;
        await deps.docker
          .remove(c.Id)
          .catch((err: unknown) =>
            deps.log.warn({ err, container: c.Id, name }, "could not remove a replaced container"),
          );
      }
      const record = fromLabels(keep.Labels);
      if (!record || record.deployment.service !== name) {
        deps.log.warn({ container: keep.Id, name }, "container without a readable deployment label: left alone");
        continue;
      }
      const atZero = existsSync(zeroMarker(name));
      if (keep.State !== "running" && !atZero) await deps.containers.start(keep.Id);
      if (!named) await deps.containers.rename(keep.Id, containerName(name));
      deps.ports.hold(record.port);
      const instance = instances.adopt(keep.Id, record.deployment, record.port);
      const { deployment, createdAt } = record;
      const waking = atZero ? undefined : instances.watch(record.deployment, instance);
      entries.set(name, { deployment, createdAt, instance, invocations: 0, replicas: atZero ? 0 : 1, waking });
    }
  }

  return {
    async list() {
      await loaded();
      return [...entries.values()].map(statusOf).sort((a, b) => a.name.localeCompare(b.name));
    },
    async get(name) {
      await loaded();
      const entry = entries.get(name);
      return entry && statusOf(entry);
    },
    async deploy(d) {
      await loaded();
      return serial(d.service, async () => {
        // faas-netes answers 500 "unable create Deployment: … already exists" here (pkg/handlers/deploy.go).
        if (entries.has(d.service)) throw new HttpError(500, `unable to create function: ${d.service} already exists`);
        await instances.prepare(d);
        const createdAt = deps.now().toISOString();
        const instance = await instances.start(d, createdAt, containerName(d.service));
        const waking = instances.watch(d, instance);
        entries.set(d.service, { deployment: d, createdAt, instance, invocations: 0, replicas: 1, waking });
      });
    },
    async update(d) {
      await loaded();
      let answer = () => {};
      const switched = new Promise<void>((resolve) => (answer = resolve));
      let answered = false;
      const job = serial(d.service, async () => {
        const entry = entries.get(d.service);
        if (!entry) throw new HttpError(404, `function ${d.service} not found`);
        // An update's own steps (issue #16), on a logger naming the image (its tag carries the push's sha).
        const timer = stageTimer(deps.log.child({ function: d.service, image: d.image }), () => deps.now().getTime());
        const started = timer.start("provider.start");
        await instances.prepare(d);
        // Rolling update without a gap (faas-netes: maxUnavailable 0, maxSurge 1): the old container serves until
        // the new one answers, then drains.
        const next = await instances.start(d, entry.createdAt, `${containerName(d.service)}-next`);
        started();
        if (!(await timer.time("provider.readiness", () => instances.watch(d, next)))) {
          const why = await instances.describeExit(next);
          await instances.discard(next);
          const seconds = readyTimeoutMs / 1000;
          throw new HttpError(500, `function ${d.service}: the new container did not answer within ${seconds} s${why}`);
        }
        const old = entry.instance;
        entry.deployment = d;
        entry.instance = next;
        // The new container runs: a function at 0 is back at 1, as a new Deployment would be.
        entry.replicas = 1;
        entry.waking = undefined;
        rmSync(zeroMarker(d.service), { force: true });
        // The function's name moves to the new container before the answer: a gateway restarted from here on keeps
        // the named one (restore). The old one's drain and removal (a kill and a delete, ~0.1–0.6 s) then happen
        // after the PUT has answered, still ahead of the next operation on this function (issue #16).
        const retired = timer.start("provider.retire");
        await deps.containers.rename(old.id, `${containerName(d.service)}-old-${old.port}`);
        await deps.containers.rename(next.id, containerName(d.service));
        answered = true;
        answer();
        const drainMs = deps.drainTimeoutMs ?? 10_000;
        for (let waited = 0; old.inflight > 0 && waited < drainMs; waited += 50) await sleep(50);
        await instances.discard(old);
        retired();
      });
      // Past the answer, a failure to remove the old container is only logged: the new one serves.
      job.catch((err: unknown) => {
        if (answered) deps.log.warn({ err, function: d.service }, "removing the replaced container failed");
      });
      await Promise.race([switched, job]);
    },
    async remove(name) {
      await loaded();
      return serial(name, async () => {
        const entry = entries.get(name);
        if (!entry) throw new HttpError(404, `function ${name} not found`);
        entries.delete(name);
        await instances.discard(entry.instance);
        rmSync(join(deps.dir, name), { recursive: true, force: true });
      });
    },
    async scale(name, replicas) {
      await loaded();
      if (!entries.has(name)) throw new HttpError(404, `function ${name} not found`);
      const job = serial(name, async () => {
        const entry = entries.get(name);
        if (!entry) return; // removed while waiting its turn
        if (replicas === 0) await sleepToZero(entry);
        else await wake(entry);
      });
      if (replicas > 0) return job;
      // Answered at once (202, as faas-netes): stopping waits for the calls running and Docker's grace period.
      job.catch((err: unknown) => deps.log.warn({ err, function: name }, "scaling to zero failed"));
    },
    async containerOf(name) {
      await loaded();
      return entries.get(name)?.instance.id;
    },
    async target(name) {
      await loaded();
      if (entries.get(name)?.replicas === 0) {
        // Scale from zero, as the gateway's scaling handler does (scale_from_zero, on by default in faas-netes' chart).
        await serial(name, async () => {
          const current = entries.get(name);
          if (current) await wake(current);
        });
      }
      const entry = entries.get(name);
      if (!entry) return undefined;
      // Just deployed, restarted or back from zero: wait for it (bounded by the readiness timeout), as the gateway's
      // scaling handler polls until a replica is available instead of failing the call.
      if (!entry.instance.ready && entry.waking) await entry.waking;
      const instance = entry.instance;
      if (!instance.ready) {
        // Slower than the readiness timeout: this call fails at once; look again, so it serves once it answers.
        if (!instance.watching && !instance.stop.signal.aborted) void instances.watch(entry.deployment, instance);
        return "not-ready";
      }
      entry.invocations++;
      instance.inflight++;
      return { port: instance.port, release: () => void instance.inflight-- };
    },
    close() {
      for (const entry of entries.values()) entry.instance.stop.abort();
    },
  };

  function zeroMarker(name: string): string {
    return join(deps.dir, name, SCALED_TO_ZERO);
  }

  /** No new calls, the running ones get the drain time, then the container stops (SIGTERM, Docker's 10 s, SIGKILL). */
  async function sleepToZero(entry: Entry): Promise<void> {
    const { instance, deployment } = entry;
    mkdirSync(join(deps.dir, deployment.service), { recursive: true });
    writeFileSync(zeroMarker(deployment.service), "");
    entry.replicas = 0;
    entry.waking = undefined;
    instance.stop.abort();
    instance.ready = false;
    const drainMs = deps.drainTimeoutMs ?? 10_000;
    for (let waited = 0; instance.inflight > 0 && waited < drainMs; waited += 50) await sleep(50);
    await deps.containers.stop(instance.id);
  }

  /** Starts a function's stopped container again; `entry.waking` settles once it answers (or not in time). */
  async function wake(entry: Entry): Promise<void> {
    if (entry.replicas === 1) return;
    const { instance, deployment } = entry;
    await deps.containers.start(instance.id);
    rmSync(zeroMarker(deployment.service), { force: true });
    entry.replicas = 1;
    instance.stop = new AbortController();
    entry.waking = instances.watch(deployment, instance);
  }
}

function statusOf(entry: Entry): FunctionStatusBody {
  const { deployment, instance, invocations, createdAt, replicas } = entry;
  return toStatus(deployment, { replicas, ready: instance.ready, invocationCount: invocations, createdAt });
}
