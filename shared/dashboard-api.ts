import type { KeyObject } from "node:crypto";
import type { FunctionEvent } from "./function-handler.js";
import { HttpError } from "./http-error.js";
import { functionName } from "./naming.js";
import { mayView, verifySession, type Session } from "./session.js";

/** What every dashboard API checks a caller with (issue #13): edge-auth's public key and the operators setting. */
export interface ViewerDeps {
  publicKey: KeyObject;
  operators: readonly string[];
  now: () => number;
}

/**
 * The owner a dashboard API call asks about (`?owner=`, lowercased), once the caller may see it: 401 without a valid
 * session, 400 for a missing or malformed owner, 403 for an owner the session may not see. The session is checked
 * first and whether the owner has any function is never looked at, so a refusal says nothing about other owners.
 */
export async function viewableOwner(
  event: FunctionEvent,
  deps: ViewerDeps,
): Promise<{ owner: string; session: Session }> {
  if (event.method !== "GET") throw new HttpError(405, "only GET");
  const session = await verifySession(event.headers.cookie, deps.publicKey, { nowMs: deps.now() });
  const owner = (event.query.owner ?? "").toLowerCase();
  if (!owner) throw new HttpError(400, "owner is required, e.g. ?owner=alexellis");
  ownerPrefix(owner); // a 400 naming the rule for anything that is not a GitHub login
  if (!mayView(session, owner, deps.operators)) throw new HttpError(403, `not allowed to see ${owner}'s functions`);
  return { owner, session };
}

/** `<owner>--`, the start of every deployed name the owner has (shared/naming.ts), after checking the login. */
export function ownerPrefix(owner: string): string {
  // functionName validates the login; any valid stack name gives the same prefix.
  return functionName(owner, "x").slice(0, -1);
}

/**
 * The deployed name a metric's `function_name` label carries, without the namespace the gateway appends
 * (`demo--hello.openfaas-fn` → `demo--hello`; openfaas/faas' notifier qualifies names without a dot).
 */
export function unqualified(metricName: string): string {
  const dot = metricName.indexOf(".");
  return dot === -1 ? metricName : metricName.slice(0, dot);
}
