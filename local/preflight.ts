import { execFileSync } from "node:child_process";

const BINARIES = [
  ["dockerd", "Debian package docker.io"],
  ["docker-registry", "Debian package docker-registry"],
  ["nats-server", "Debian package nats-server"],
  ["git", "Debian package git"],
  ["prometheus", "Debian package prometheus"],
] as const;

function found(binary: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${binary}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** What the local runtime needs and this machine lacks, each said plainly (npm start's pre-start installs them as root). */
export function preflight(): string[] {
  const problems: string[] = [];
  if (process.getuid?.() !== 0) problems.push("not root: the private Docker daemon (dockerd) must be started as root");
  for (const [binary, from] of BINARIES)
    if (!found(binary))
      problems.push(`${binary} is not installed (${from}; run scripts/install-system-deps.sh as root)`);
  return problems;
}
