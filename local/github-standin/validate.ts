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
/** A check-run annotation as GitHub stores it. */
export type CheckAnnotation = {
  path: string;
  start_line: number;
  end_line: number;
  start_column: number | null;
  end_column: number | null;
  annotation_level: string;
  message: string;
  title: string | null;
};
/** A check run's stored fields, after defaults and merging. */
export type CheckRunFields = {
  name: string;
  head_sha: string;
  status: string;
  conclusion: string | null;
  output: CheckOutput | null;
  details_url: string | null;
  started_at: string | null;
  completed_at: string | null;
  /** Every annotation accepted so far: each update's are appended, as on GitHub. */
  annotations: CheckAnnotation[];
};

const STATUS_STATES = ["pending", "success", "failure", "error"];
const CHECK_STATUSES = ["queued", "in_progress", "completed"];
// `stale` is a conclusion only GitHub sets ("You cannot change a check run conclusion to stale"): an App's is refused.
const CONCLUSIONS = ["action_required", "cancelled", "failure", "neutral", "success", "skipped", "timed_out"];
const DESCRIPTION_MAX = 140;
const OUTPUT_TEXT_MAX = 65535;
// GitHub's documented annotation limits: 50 per request; message and raw_details 64 KB; title 255 characters.
const ANNOTATIONS_PER_REQUEST = 50;
const ANNOTATION_LEVELS = ["notice", "warning", "failure"];
const ANNOTATION_BYTES_MAX = 64 * 1024;
const ANNOTATION_TITLE_MAX = 255;
// A run moves forward only: queued → in_progress → completed.
const STATUS_ORDER: Record<string, number> = { queued: 0, in_progress: 1, completed: 2 };
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

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
  if (b.conclusion === "stale") check.add("conclusion", "invalid", "conclusion stale can only be set by GitHub");
  else check.oneOf("conclusion", b.conclusion, CONCLUSIONS);
  check.url("details_url", b.details_url);
  for (const field of ["started_at", "completed_at"]) {
    const value = b[field];
    if (value !== undefined && value !== null && (typeof value !== "string" || !ISO_8601.test(value)))
      check.add(field, "invalid", `${field} must be an ISO 8601 timestamp (YYYY-MM-DDTHH:MM:SSZ)`);
  }
  let annotations: CheckAnnotation[] = [];
  if (b.output !== undefined && b.output !== null) {
    const o = asObject(b.output);
    check.text("output.title", o.title, undefined, true);
    check.text("output.summary", o.summary, OUTPUT_TEXT_MAX, true);
    check.text("output.text", o.text, OUTPUT_TEXT_MAX);
    annotations = checkAnnotations(check, o.annotations);
  }
  const status = typeof b.status === "string" ? b.status : undefined;
  const from = existing?.status;
  const to = b.conclusion ? "completed" : status;
  if (from !== undefined && to !== undefined && (STATUS_ORDER[to] ?? 0) < (STATUS_ORDER[from] ?? 0))
    check.add("status", "invalid", `a ${from} check run cannot go back to ${to}`);
  if (check.errors.length > 0) return { ok: false, errors: check.errors };
  const merged: CheckRunFields = {
    name: (b.name as string | undefined) ?? existing?.name ?? "",
    head_sha: (b.head_sha as string | undefined) ?? existing?.head_sha ?? "",
    status: status ?? existing?.status ?? "queued",
    conclusion: (b.conclusion as string | null | undefined) ?? existing?.conclusion ?? null,
    output: b.output ? toOutput(asObject(b.output)) : (existing?.output ?? null),
    details_url: (b.details_url as string | null | undefined) ?? existing?.details_url ?? null,
    started_at: (b.started_at as string | null | undefined) ?? existing?.started_at ?? null,
    completed_at: (b.completed_at as string | null | undefined) ?? existing?.completed_at ?? null,
    annotations: [...(existing?.annotations ?? []), ...annotations],
  };
  if (b.conclusion) merged.status = "completed";
  if (merged.status === "completed" && !merged.conclusion) {
    check.add("conclusion", "custom", "conclusion is required when status is 'completed'");
    return { ok: false, errors: check.errors };
  }
  return { ok: true, value: merged };
}

/** Checks `output.annotations` as GitHub does and returns them as stored. */
function checkAnnotations(check: ReturnType<typeof checker>, value: unknown): CheckAnnotation[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) return (check.add("output.annotations", "invalid", "annotations must be an array"), []);
  if (value.length > ANNOTATIONS_PER_REQUEST) {
    check.add("output.annotations", "custom", `at most ${ANNOTATIONS_PER_REQUEST} annotations per request`);
    return [];
  }
  const positive = (n: unknown): n is number => typeof n === "number" && Number.isInteger(n) && n >= 1;
  return value.map((item: unknown, i) => {
    const a = asObject(item);
    const field = (name: string) => `output.annotations[${i}].${name}`;
    if (check.text(field("path"), a.path, undefined, true) && a.path === "")
      check.add(field("path"), "invalid", "empty");
    for (const name of ["start_line", "end_line"])
      if (!positive(a[name])) check.add(field(name), "invalid", `${name} must be an integer ≥ 1`);
    if (positive(a.start_line) && positive(a.end_line) && a.end_line < a.start_line)
      check.add(field("end_line"), "invalid", "end_line must be ≥ start_line");
    for (const name of ["start_column", "end_column"]) {
      if (a[name] === undefined || a[name] === null) continue;
      if (!positive(a[name])) check.add(field(name), "invalid", `${name} must be an integer ≥ 1`);
      else if (a.start_line !== a.end_line)
        check.add(field(name), "invalid", `${name} is only allowed when start_line equals end_line`);
    }
    check.oneOf(field("annotation_level"), a.annotation_level, ANNOTATION_LEVELS, true);
    if (
      check.text(field("message"), a.message, undefined, true) &&
      Buffer.byteLength(a.message as string) > ANNOTATION_BYTES_MAX
    )
      check.add(field("message"), "custom", "message is too long (maximum is 64 KB)");
    check.text(field("title"), a.title, ANNOTATION_TITLE_MAX);
    if (
      check.text(field("raw_details"), a.raw_details) &&
      Buffer.byteLength(a.raw_details as string) > ANNOTATION_BYTES_MAX
    )
      check.add(field("raw_details"), "custom", "raw_details is too long (maximum is 64 KB)");
    return {
      path: a.path as string,
      start_line: a.start_line as number,
      end_line: a.end_line as number,
      start_column: (a.start_column as number | undefined) ?? null,
      end_column: (a.end_column as number | undefined) ?? null,
      annotation_level: a.annotation_level as string,
      message: a.message as string,
      title: (a.title as string | undefined) ?? null,
    };
  });
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
