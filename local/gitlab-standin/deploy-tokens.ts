import { randomBytes } from "node:crypto";

/** A project deploy token as the stand-in holds it; `deleted` once DELETEd (GitLab destroys it then). */
export type DeployToken = {
  id: number;
  projectId: number;
  name: string;
  username: string;
  token: string;
  expires_at: string | null;
  scopes: string[];
  revoked: boolean;
  deleted: boolean;
};
/** A created token, or GitLab's 400 body (Grape's `error` for a bad parameter). */
export type TokenResult = { ok: true; token: DeployToken } | { ok: false; body: Record<string, unknown> };

// DeployToken::AVAILABLE_SCOPES (lib/api/deploy_tokens.rb maps each to a boolean column).
const SCOPES = [
  "read_repository",
  "read_registry",
  "write_registry",
  "read_package_registry",
  "write_package_registry",
  "read_virtual_registry",
  "write_virtual_registry",
];

/**
 * Validates `POST /projects/:id/deploy_tokens` params as GitLab's Grape declaration does (name and scopes required,
 * scopes from the list, comma-separated or an array; expires_at a date-time) and makes the token.
 */
export function createDeployToken(params: Record<string, unknown>, projectId: number, id: number): TokenResult {
  const error = (text: string): TokenResult => ({ ok: false, body: { error: text } });
  if (typeof params.name !== "string" || params.name === "") return error("name is missing");
  const raw = params.scopes;
  if (raw === undefined || raw === null || raw === "") return error("scopes is missing");
  const scopes = Array.isArray(raw) ? raw : typeof raw === "string" ? raw.split(",") : [raw];
  if (!scopes.every((s): s is string => typeof s === "string" && SCOPES.includes(s)))
    return error("scopes does not have a valid value");
  let expires_at: string | null = null;
  if (params.expires_at !== undefined && params.expires_at !== null && params.expires_at !== "") {
    const at = typeof params.expires_at === "string" ? Date.parse(params.expires_at) : Number.NaN;
    if (Number.isNaN(at)) return error("expires_at is invalid");
    expires_at = new Date(at).toISOString();
  }
  const username =
    typeof params.username === "string" && params.username !== "" ? params.username : `gitlab+deploy-token-${id}`;
  // GitLab's deploy tokens carry the `gldt-` prefix (GitLab 16.7+) so secret scanners know them.
  const token = `gldt-${randomBytes(15).toString("base64url")}`;
  return {
    ok: true,
    token: { id, projectId, name: params.name, username, token, expires_at, scopes, revoked: false, deleted: false },
  };
}

/** Whether a token is usable at `now` (epoch ms): not revoked, not deleted, not past its expiry. */
export function isLive(token: DeployToken, now: number): boolean {
  return !token.revoked && !token.deleted && (token.expires_at === null || Date.parse(token.expires_at) > now);
}

/** The API's DeployTokenWithToken body (the token itself is shown once, on creation). */
export function deployTokenBody(token: DeployToken, now: number) {
  const { id, name, username, expires_at, revoked, scopes } = token;
  const expired = expires_at !== null && Date.parse(expires_at) <= now;
  return { id, name, username, expires_at, token: token.token, revoked, expired, scopes };
}
