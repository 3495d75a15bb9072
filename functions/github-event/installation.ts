import { z } from "zod";
import { parseJsonBody } from "../../shared/json-body.js";

/** The parts of `installation` and `installation_repositories` payloads github-event acts on. */
const installationEvent = z.object({
  action: z.string().min(1),
  installation: z.object({
    id: z.number().int(),
    account: z.object({ login: z.string().min(1), id: z.number().int().positive() }),
  }),
  repositories_removed: z.array(z.object({ name: z.string().min(1) })).optional(),
});
export type InstallationEvent = z.infer<typeof installationEvent>;

/** A garbage-collect request (original-spec §16.4): `repo` is `*` for every repo of the owner, known by its id. */
export interface GarbageRequest {
  functions: string[];
  repo: string;
  owner: string;
  ownerId: number;
}

export function parseInstallationEvent(body: Buffer): InstallationEvent {
  return parseJsonBody(installationEvent, body, "installation event");
}

/**
 * What to remove after an installation change (original-spec §2 step 6): everything of the owner when the App is
 * uninstalled, each removed repository's functions when repositories are removed, nothing otherwise.
 */
export function garbageRequests(name: string, event: InstallationEvent): GarbageRequest[] {
  // The account's id, not its login (DESIGN §5): only what this account deployed is removed.
  const owner = event.installation.account.login.toLowerCase();
  const ownerId = event.installation.account.id;
  if (name === "installation" && event.action === "deleted") return [{ functions: [], repo: "*", owner, ownerId }];
  if (name === "installation_repositories" && event.action === "removed") {
    return (event.repositories_removed ?? []).map((r) => ({
      functions: [],
      repo: r.name.toLowerCase(),
      owner,
      ownerId,
    }));
  }
  return [];
}
