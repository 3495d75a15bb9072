import type { JsonReply } from "./json-server.js";
import type { FieldError } from "./validate.js";

/** A deployment status as the stand-in stores it (issue #17). */
export type RecordedDeploymentStatus = {
  id: number;
  state: string;
  description: string;
  environment_url: string | null;
  log_url: string | null;
  created_at: string;
};
/** A deployment the stand-in accepted, with its statuses oldest first. */
export type RecordedDeployment = {
  id: number;
  owner: string;
  repo: string;
  sha: string;
  ref: string;
  environment: string;
  description: string | null;
  transient_environment: boolean;
  production_environment: boolean;
  created_at: string;
  statuses: RecordedDeploymentStatus[];
};

type Request = { params: string[]; body: unknown; query?: URLSearchParams };
type Handler = (owner: string, repo: string, req: Request) => JsonReply;

const STATES = ["error", "failure", "inactive", "in_progress", "queued", "pending", "success"];
// docs.github.com "Create a deployment status": description "maximum 140 characters"; environment names are at most
// 255 characters (Environments API).
const DESCRIPTION_MAX = 140;
const ENVIRONMENT_MAX = 255;

/**
 * The Deployments API routes of the stand-in (issue #17): create and list deployments, create and list their
 * statuses. Bodies are checked as GitHub checks them (ref present, environment length, booleans, state enum, URLs,
 * description length) and 422s name the field; the server wraps each handler in its installation-token check.
 */
export function createDeploymentRoutes(deps: { nextId: () => number; now: () => number; apiUrl: () => string }) {
  const deployments: RecordedDeployment[] = [];
  const inRepo = (owner: string, repo: string) => (d: RecordedDeployment) =>
    d.owner.toLowerCase() === owner.toLowerCase() && d.repo.toLowerCase() === repo.toLowerCase();
  const body = (d: RecordedDeployment) => {
    const url = `${deps.apiUrl()}/repos/${d.owner}/${d.repo}/deployments/${d.id}`;
    const { id, sha, ref, environment, description, transient_environment, production_environment, created_at } = d;
    const fields = {
      id,
      sha,
      ref,
      environment,
      description,
      transient_environment,
      production_environment,
      created_at,
    };
    return { ...fields, url, statuses_url: `${url}/statuses`, task: "deploy", payload: {} };
  };

  const create: Handler = (owner, repo, req) => {
    const b = asObject(req.body);
    const errors: FieldError[] = [];
    const add = (field: string, code: FieldError["code"], message: string) =>
      errors.push({ resource: "Deployment", field, code, message });
    if (b.ref === undefined || b.ref === null) add("ref", "missing_field", "ref wasn't supplied");
    else if (typeof b.ref !== "string" || b.ref === "") add("ref", "invalid", "ref must be a non-empty string");
    const environment = b.environment ?? "production";
    if (typeof environment !== "string" || environment.trim() === "") {
      add("environment", "invalid", "environment must be a non-empty string");
    } else if (Array.from(environment).length > ENVIRONMENT_MAX) {
      add("environment", "custom", `environment is too long (maximum is ${ENVIRONMENT_MAX} characters)`);
    }
    for (const field of ["auto_merge", "transient_environment", "production_environment"]) {
      if (b[field] !== undefined && typeof b[field] !== "boolean") add(field, "invalid", `${field} must be a boolean`);
    }
    const contexts = b.required_contexts;
    if (contexts !== undefined && (!Array.isArray(contexts) || contexts.some((c) => typeof c !== "string"))) {
      add("required_contexts", "invalid", "required_contexts must be an array of strings");
    }
    if (b.description !== undefined && b.description !== null && typeof b.description !== "string") {
      add("description", "invalid", "description must be a string");
    }
    if (errors.length > 0) return invalid(errors);
    // Only a full commit SHA is taken as one: a ref this stand-in cannot resolve is GitHub's 422 "No ref found".
    if (!/^[0-9a-f]{40}$/i.test(b.ref as string)) {
      return { status: 422, body: { message: `No ref found for: ${String(b.ref)}` } };
    }
    // GitHub answers 409 while required contexts are unmet; a preview must send [] (its own statuses are pending).
    if (contexts === undefined) {
      return { status: 409, body: { message: "Conflict: Commit status checks failed for " + String(b.ref) } };
    }
    const deployment: RecordedDeployment = {
      id: deps.nextId(),
      owner,
      repo,
      sha: (b.ref as string).toLowerCase(),
      ref: b.ref as string,
      environment: environment as string,
      description: (b.description as string | undefined) ?? null,
      transient_environment: b.transient_environment === true,
      production_environment:
        typeof b.production_environment === "boolean" ? b.production_environment : environment === "production",
      created_at: new Date(deps.now()).toISOString(),
      statuses: [],
    };
    deployments.push(deployment);
    return { status: 201, body: body(deployment) };
  };

  const list: Handler = (owner, repo, req) => {
    const environment = req.query?.get("environment") ?? undefined;
    const sha = req.query?.get("sha") ?? undefined;
    const perPage = Math.min(100, Number(req.query?.get("per_page") ?? 30) || 30);
    const found = deployments
      .filter(inRepo(owner, repo))
      .filter((d) => (environment === undefined || d.environment === environment) && (!sha || d.sha === sha))
      .sort((a, b) => b.id - a.id)
      .slice(0, perPage);
    return { status: 200, body: found.map(body) };
  };

  const createStatus: Handler = (owner, repo, req) => {
    const deployment = deployments.find((d) => inRepo(owner, repo)(d) && d.id === Number(req.params[2]));
    if (!deployment) return { status: 404, body: { message: "Not Found" } };
    const b = asObject(req.body);
    const errors: FieldError[] = [];
    const add = (field: string, code: FieldError["code"], message: string) =>
      errors.push({ resource: "DeploymentStatus", field, code, message });
    if (b.state === undefined || b.state === null) add("state", "missing_field", "state wasn't supplied");
    else if (typeof b.state !== "string" || !STATES.includes(b.state)) {
      add("state", "invalid", `state ${JSON.stringify(b.state)} is not one of ${STATES.join(", ")}`);
    }
    if (b.description !== undefined && b.description !== null) {
      if (typeof b.description !== "string") add("description", "invalid", "description must be a string");
      else if (Array.from(b.description).length > DESCRIPTION_MAX) {
        add("description", "custom", `description is too long (maximum is ${DESCRIPTION_MAX} characters)`);
      }
    }
    for (const field of ["environment_url", "log_url", "target_url"]) {
      const value = b[field];
      if (value === undefined || value === null || value === "") continue;
      if (typeof value !== "string" || !/^https?:\/\/[^\s/]+/i.test(value) || !URL.canParse(value)) {
        add(field, "invalid", `${field} must be an http(s) URL`);
      }
    }
    if (b.auto_inactive !== undefined && typeof b.auto_inactive !== "boolean") {
      add("auto_inactive", "invalid", "auto_inactive must be a boolean");
    }
    if (errors.length > 0) return invalid(errors);
    const status: RecordedDeploymentStatus = {
      id: deps.nextId(),
      state: b.state as string,
      description: (b.description as string | undefined) ?? "",
      environment_url: (b.environment_url as string | undefined) || null,
      log_url: ((b.log_url ?? b.target_url) as string | undefined) || null,
      created_at: new Date(deps.now()).toISOString(),
    };
    deployment.statuses.push(status);
    // GitHub's auto_inactive (default true): a success retires the environment's earlier non-transient,
    // non-production deployments.
    if (status.state === "success" && b.auto_inactive !== false) {
      for (const other of deployments.filter(inRepo(owner, repo))) {
        if (other.id >= deployment.id || other.environment !== deployment.environment) continue;
        if (other.transient_environment || other.production_environment) continue;
        if (other.statuses.at(-1)?.state === "inactive") continue;
        other.statuses.push({ ...status, id: deps.nextId(), state: "inactive", description: "" });
      }
    }
    return {
      status: 201,
      body: { ...status, deployment_url: `${deps.apiUrl()}/repos/${owner}/${repo}/deployments/${deployment.id}` },
    };
  };

  const listStatuses: Handler = (owner, repo, req) => {
    const deployment = deployments.find((d) => inRepo(owner, repo)(d) && d.id === Number(req.params[2]));
    if (!deployment) return { status: 404, body: { message: "Not Found" } };
    return { status: 200, body: [...deployment.statuses].reverse() };
  };

  return {
    /** [method, path pattern, handler]: each runs inside the server's installation-token check. */
    routes: [
      ["POST", /^\/repos\/([^/]+)\/([^/]+)\/deployments$/, create],
      ["GET", /^\/repos\/([^/]+)\/([^/]+)\/deployments$/, list],
      ["POST", /^\/repos\/([^/]+)\/([^/]+)\/deployments\/(\d+)\/statuses$/, createStatus],
      ["GET", /^\/repos\/([^/]+)\/([^/]+)\/deployments\/(\d+)\/statuses$/, listStatuses],
    ] as const,
    deployments: () => deployments.map((d) => ({ ...d, statuses: [...d.statuses] })),
    reset: () => void (deployments.length = 0),
  };
}

function asObject(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function invalid(errors: FieldError[]): JsonReply {
  return { status: 422, body: { message: "Validation Failed", errors } };
}
