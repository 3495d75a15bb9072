import { z } from "zod";
import { parseJsonBody } from "../../shared/json-body.js";

/** The parts of `installation` and `installation_repositories` payloads github-event acts on. */
const installationEvent = z.object({
  action: z.string().min(1),
  installation: z.object({ id: z.number().int(), account: z.object({ login: z.string().min(1) }) }),
  repositories_removed: z.array(z.object({ name: z.string().min(1) })).optional(),
});
export type InstallationEvent = z.infer<typeof installationEvent>;

/** A garbage-collect request (original-spec §16.4): `repo` is `*` for every repo of the owner. */
export interface GarbageRequest {
  functions: string[];
  repo: string;
  owner: string;
}

export function parseInstallationEvent(body: Buffer): InstallationEvent {
  return parseJsonBody(installationEvent, body, "installation event");
}

/**
 * What to remove after an installation change (original-spec §2 step 6): everything of the owner when the App is
 * uninstalled, each removed repository's functions when repositories are removed, nothing otherwise.
 */
export function garbageRequests(name: string, event: InstallationEvent): GarbageRequest[] {
  const owner = event.installation.account.login.toLowerCase();
  if (name === "installation" && event.action === "deleted") return [{ functions: [], repo: "*", owner }];
  if (name === "installation_repositories" && event.action === "removed") {
    return (event.repositories_removed ?? []).map((r) => ({ functions: [], repo: r.name.toLowerCase(), owner }));
  }
  return [];
}
