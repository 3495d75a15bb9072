/** One entry of GitHub's 422 `errors` array. */
export type FieldError = {
  resource: string;
  field: string;
  code: "missing_field" | "invalid" | "custom";
  message: string;
};
/** A validated body, or the field errors GitHub would answer 422 with. */
export type Validated<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

/** A commit status as GitHub stores it (nulls where the caller sent nothing). */
export type StatusFields = { state: string; description: string | null; context: string; target_url: string | null };
/** A check run's output block. */
export type CheckOutput = { title: string; summary: string; text: string | null };
/** A check run's stored fields, after defaults and merging. */
export type CheckRunFields = {
  name: string;
  head_sha: string;
  status: string;
  conclusion: string | null;
  output: CheckOutput | null;
  details_url: string | null;
};

const STATUS_STATES = ["pending", "success", "failure", "error"];
const CHECK_STATUSES = ["queued", "in_progress", "completed"];
const CONCLUSIONS = ["action_required", "cancelled", "failure", "neutral", "success", "skipped", "stale", "timed_out"];
const DESCRIPTION_MAX = 140;
const OUTPUT_TEXT_MAX = 65535;

// Only a full commit SHA names a commit unambiguously; GitHub refuses short or non-hex ones here.
function isCommitSha(value: unknown): value is string {
  return typeof value === "string" && /^[0-9a-f]{40}$/i.test(value);
}

/** Validates the path SHA and body of `POST /repos/{owner}/{repo}/statuses/{sha}`. */
export function validateStatus(sha: string, body: unknown): Validated<StatusFields> {
  const b = asObject(body);
  const check = checker("Status");
  if (!isCommitSha(sha)) check.add("sha", "invalid", `sha ${JSON.stringify(sha)} must be 40 hex characters`);
  check.oneOf("state", b.state, STATUS_STATES, true);
  check.text("description", b.description, DESCRIPTION_MAX);
  check.text("context", b.context);
  check.url("target_url", b.target_url);
  if (check.errors.length > 0) return { ok: false, errors: check.errors };
  return {
    ok: true,
    value: {
      state: b.state as string,
      description: (b.description as string | null | undefined) ?? null,
      context: (b.context as string | null | undefined) || "default",
      target_url: (b.target_url as string | null | undefined) || null,
    },
  };
}

/**
 * Validates a check-run create (`existing` undefined) or update body and returns the merged run. As on GitHub,
 * sending a conclusion marks the run completed, and a completed run must have a conclusion.
 */
export function validateCheckRun(body: unknown, existing?: CheckRunFields): Validated<CheckRunFields> {
  const b = asObject(body);
  const check = checker("CheckRun");
  const creating = existing === undefined;
  if (check.text("name", b.name, undefined, creating) && b.name === "") check.add("name", "invalid", "name is empty");
  if (b.head_sha !== undefined || creating) {
    if (!isCommitSha(b.head_sha)) check.add("head_sha", "invalid", "head_sha must be 40 hex characters");
  }
  check.oneOf("status", b.status, CHECK_STATUSES);
  check.oneOf("conclusion", b.conclusion, CONCLUSIONS);
  check.url("details_url", b.details_url);
  if (b.output !== undefined && b.output !== null) {
    const o = asObject(b.output);
    check.text("output.title", o.title, undefined, true);
    check.text("output.summary", o.summary, OUTPUT_TEXT_MAX, true);
    check.text("output.text", o.text, OUTPUT_TEXT_MAX);
  }
  if (check.errors.length > 0) return { ok: false, errors: check.errors };
  const merged: CheckRunFields = {
    name: (b.name as string | undefined) ?? existing?.name ?? "",
    head_sha: (b.head_sha as string | undefined) ?? existing?.head_sha ?? "",
    status: (b.status as string | undefined) ?? existing?.status ?? "queued",
    conclusion: (b.conclusion as string | null | undefined) ?? existing?.conclusion ?? null,
    output: b.output ? toOutput(asObject(b.output)) : (existing?.output ?? null),
    details_url: (b.details_url as string | null | undefined) ?? existing?.details_url ?? null,
  };
  if (b.conclusion) merged.status = "completed";
  if (merged.status === "completed" && !merged.conclusion) {
    check.add("conclusion", "custom", "conclusion is required when status is 'completed'");
    return { ok: false, errors: check.errors };
  }
  return { ok: true, value: merged };
}

function toOutput(o: Record<string, unknown>): CheckOutput {
  return { title: o.title as string, summary: o.summary as string, text: (o.text as string | undefined) ?? null };
}

function asObject(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

// Collects every broken rule, as GitHub lists them all in one 422 rather than stopping at the first.
function checker(resource: string) {
  const errors: FieldError[] = [];
  const add = (field: string, code: FieldError["code"], message: string) =>
    errors.push({ resource, field, code, message });
  /** Returns true when the value is present and a string within `max` characters. */
  const text = (field: string, value: unknown, max?: number, required = false): boolean => {
    if (value === undefined || value === null) {
      if (required) add(field, "missing_field", `${field} wasn't supplied`);
      return false;
    }
    if (typeof value !== "string") return (add(field, "invalid", `${field} must be a string`), false);
    // GitHub counts characters, not UTF-16 units.
    if (max !== undefined && Array.from(value).length > max) {
      return (add(field, "custom", `${field} is too long (maximum is ${max} characters)`), false);
    }
    return true;
  };
  const oneOf = (field: string, value: unknown, allowed: string[], required = false) => {
    if (value === undefined || value === null) {
      if (required) add(field, "missing_field", `${field} wasn't supplied`);
      return;
    }
    if (typeof value !== "string" || !allowed.includes(value)) {
      add(field, "invalid", `${field} ${JSON.stringify(value)} is not one of ${allowed.join(", ")}`);
    }
  };
  const url = (field: string, value: unknown) => {
    if (value === undefined || value === null || value === "") return;
    if (typeof value !== "string" || !/^https?:\/\/[^\s/]+/i.test(value) || !URL.canParse(value)) {
      add(field, "invalid", `${field} must be an http(s) URL`);
    }
  };
  return { errors, add, text, oneOf, url };
}
