import { BlockList, isIPv4 } from "node:net";
import type { INetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import type { INetworkPolicyPeer } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicyPeer";

type ILabelSelector = NonNullable<INetworkPolicy["spec"]>["podSelector"];

// What yaml/network-policies.yaml allows, decided the way the NetworkPolicy API defines it (issue #10), so tests can
// ask "may this pod reach that one on this port?" by name instead of comparing YAML. Covers what the project's
// policies use: label selectors, namespace selectors (on kubernetes.io/metadata.name), ipBlock with except, ports
// with protocol and endPort. Named ports are not used, and rejected.

/** A pod: its namespace, labels and address. */
export interface Pod {
  namespace: string;
  labels: Record<string, string>;
  ip: string;
}

/** Where a connection goes: a pod, or an address outside the cluster, on a port. */
export interface Destination {
  pod?: Pod;
  ip: string;
  port: number;
  protocol?: "TCP" | "UDP" | "SCTP";
}

/** Whether `selector` selects `labels` (an empty selector selects everything). */
export function selects(selector: ILabelSelector | undefined, labels: Record<string, string>): boolean {
  for (const [key, value] of Object.entries(selector?.matchLabels ?? {})) if (labels[key] !== value) return false;
  for (const { key, operator, values = [] } of selector?.matchExpressions ?? []) {
    const has = key in labels;
    const ok =
      operator === "In"
        ? has && values.includes(labels[key]!)
        : operator === "NotIn"
          ? !has || !values.includes(labels[key]!)
          : operator === "Exists"
            ? has
            : operator === "DoesNotExist"
              ? !has
              : undefined;
    if (ok === undefined) throw new Error(`label selector operator ${operator} is not a Kubernetes one`);
    if (!ok) return false;
  }
  return true;
}

function inBlock(ip: string, cidr: string, except: string[] = []): boolean {
  const family = isIPv4(ip) ? "ipv4" : "ipv6";
  const list = (cidrs: string[]) => {
    const block = new BlockList();
    for (const c of cidrs) {
      const [net, prefix] = c.split("/");
      if ((isIPv4(net!) ? "ipv4" : "ipv6") === family) block.addSubnet(net!, Number(prefix), family);
    }
    return block;
  };
  return list([cidr]).check(ip, family) && !list(except).check(ip, family);
}

function peerMatches(peer: INetworkPolicyPeer, policyNamespace: string, to: Destination): boolean {
  if (peer.ipBlock) return inBlock(to.ip, peer.ipBlock.cidr, peer.ipBlock.except);
  if (!to.pod) return false;
  // Without a namespaceSelector a peer means pods of the policy's own namespace (NetworkPolicyPeer's doc).
  const namespaceOk = peer.namespaceSelector
    ? selects(peer.namespaceSelector, { "kubernetes.io/metadata.name": to.pod.namespace })
    : to.pod.namespace === policyNamespace;
  return namespaceOk && selects(peer.podSelector, to.pod.labels);
}

/** The policies among `policies` that restrict `pod`'s egress. */
export function egressPoliciesOf(policies: INetworkPolicy[], pod: Pod): INetworkPolicy[] {
  return policies.filter(
    (p) =>
      p.metadata?.namespace === pod.namespace &&
      selects(p.spec?.podSelector, pod.labels) &&
      (p.spec?.policyTypes ?? ["Ingress"]).includes("Egress"),
  );
}

/** Whether `from` may open a connection to `to` under `policies` (unrestricted when no policy selects it). */
export function egressAllowed(policies: INetworkPolicy[], from: Pod, to: Destination): boolean {
  const selecting = egressPoliciesOf(policies, from);
  if (selecting.length === 0) return true;
  const protocol = to.protocol ?? "TCP";
  return selecting.some((policy) =>
    (policy.spec?.egress ?? []).some((rule) => {
      const portOk =
        !rule.ports ||
        rule.ports.some((p) => {
          if (typeof p.port === "string") throw new Error(`named port ${p.port}: not used by the project's policies`);
          const lo = p.port;
          return (
            (p.protocol ?? "TCP") === protocol && (lo === undefined || (to.port >= lo && to.port <= (p.endPort ?? lo)))
          );
        });
      const peerOk = !rule.to || rule.to.some((peer) => peerMatches(peer, policy.metadata!.namespace!, to));
      return portOk && peerOk;
    }),
  );
}

/** Whether `from` may open a connection to `to` on `port` as far as `to`'s ingress policies say (egress aside). */
export function ingressAllowed(
  policies: INetworkPolicy[],
  from: Pod,
  to: Pod,
  port: number,
  protocol = "TCP",
): boolean {
  const selecting = policies.filter(
    (p) =>
      p.metadata?.namespace === to.namespace &&
      selects(p.spec?.podSelector, to.labels) &&
      (p.spec?.policyTypes ?? ["Ingress"]).includes("Ingress"),
  );
  if (selecting.length === 0) return true;
  return selecting.some((policy) =>
    (policy.spec?.ingress ?? []).some((rule) => {
      const portOk =
        !rule.ports ||
        rule.ports.some((p) => {
          if (typeof p.port === "string") throw new Error(`named port ${p.port}: not used by the project's policies`);
          return (
            (p.protocol ?? "TCP") === protocol &&
            (p.port === undefined || (port >= p.port && port <= (p.endPort ?? p.port)))
          );
        });
      // A source matches a peer as a destination would: the same selectors, read from the other side.
      const source: Destination = { pod: from, ip: from.ip, port };
      const peerOk = !rule.from || rule.from.some((peer) => peerMatches(peer, policy.metadata!.namespace!, source));
      return portOk && peerOk;
    }),
  );
}
