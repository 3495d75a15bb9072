#!/usr/bin/env bash
# Creates (or updates) the Kubernetes secrets the system needs from files in a folder (yaml/secrets.md). Values
# never go in the repository: they live in that folder, outside it. Every required file is checked before kubectl
# runs, so a half-filled folder changes nothing. Idempotent: each secret is rendered with --dry-run=client and applied.
# Usage: scripts/create-secrets.sh FOLDER
set -euo pipefail

if [ "$#" -ne 1 ] || [ ! -d "$1" ]; then
  echo "usage: $0 FOLDER (a folder holding one file per secret, see yaml/secrets.md)" >&2
  exit 2
fi
dir=$1

# secret name|namespace|key in the secret|file in FOLDER. Functions read /var/openfaas/secrets/<key>, so key = name.
SECRETS=(
  "github-webhook-secret|openfaas-fn|github-webhook-secret|github-webhook-secret"
  "payload-secret|openfaas-fn|payload-secret|payload-secret"
  "private-key|openfaas-fn|private-key|private-key"
  "basic-auth-user|openfaas-fn|basic-auth-user|basic-auth-user"
  "basic-auth-password|openfaas-fn|basic-auth-password|basic-auth-password"
  "s3-access-key|openfaas-fn|s3-access-key|s3-access-key"
  "s3-secret-key|openfaas-fn|s3-secret-key|s3-secret-key"
  # edge-auth (issue #13): the App's OAuth client secret and the session key pair (EC P-256, yaml/secrets.md).
  "oauth-client-secret|openfaas-fn|oauth-client-secret|oauth-client-secret"
  "jwt-private-key|openfaas-fn|jwt-private-key|jwt-private-key"
  "jwt-public-key|openfaas-fn|jwt-public-key|jwt-public-key"
  # import-secrets (issue #15): the sealing keys, made below on first use (docs/secrets.md).
  "sealed-secrets-keys|openfaas-fn|sealed-secrets-keys|sealed-secrets-keys"
  # of-builder verifies the same payload-secret (original-spec §14) and pushes with registry-secret's config.json.
  "payload-secret|openfaas|payload-secret|payload-secret"
  "registry-secret|openfaas|config.json|registry-config.json"
)
# Optional files: stack.yml mounts these into github-event, so they must exist; without the file each is created
# empty, which github-event reads as unset: an empty customers list means customers_url is read instead, empty
# nats-user/nats-password mean the NATS at nats_url takes no account. The two GitLab secrets (docs/gitlab.md) are
# created empty for an installation that serves GitHub only: gitlab-event then answers 503.
OPTIONAL=(
  "customers|openfaas-fn|customers|customers"
  "nats-user|openfaas-fn|nats-user|nats-user"
  "nats-password|openfaas-fn|nats-password|nats-password"
  "gitlab-webhook-secret|openfaas-fn|gitlab-webhook-secret|gitlab-webhook-secret"
  "gitlab-api-token|openfaas-fn|gitlab-api-token|gitlab-api-token"
)
# Only for the in-cluster registry (yaml/registry.yaml), so created only when the file is there: the registry's
# accounts (bcrypt htpasswd lines), and the nodes' pull credentials, a Docker config.json stored under the key
# .dockerconfigjson that the kubelet reads (the functions' service account lists it as an imagePullSecret).
IN_CLUSTER_REGISTRY=(
  "registry-htpasswd|openfaas|htpasswd|registry-htpasswd"
  "registry-pull|openfaas-fn|.dockerconfigjson|registry-pull-config.json"
)

# The sealing key pair users' secrets.yml files are sealed for (issue #15): made once, as the SealedSecrets controller
# does (RSA 4096, a 10-year self-signed certificate, CN sealed-secret), and kept in FOLDER so every later run applies
# the same keys. Rotation appends a newer key and certificate to the file (docs/secrets.md): all open, the last seals.
if [ ! -s "$dir/sealed-secrets-keys" ]; then
  tmp=$(mktemp -d)
  openssl req -x509 -newkey rsa:4096 -nodes -keyout "$tmp/key.pem" -out "$tmp/cert.pem" -days 3650 \
    -subj "/CN=sealed-secret" 2>/dev/null
  (umask 077 && cat "$tmp/key.pem" "$tmp/cert.pem" >"$dir/sealed-secrets-keys")
  rm -rf "$tmp"
  echo "create-secrets: made a new sealing key in $dir/sealed-secrets-keys (keep it: it opens every secrets.yml)"
fi

missing=()
for entry in "${SECRETS[@]}"; do
  file=${entry##*|}
  [ -s "$dir/$file" ] || missing+=("$file")
done
if [ "${#missing[@]}" -ne 0 ]; then
  echo "create-secrets: refusing: missing or empty in $dir: ${missing[*]}; nothing was created" >&2
  exit 1
fi
# The registry accepts bcrypt hashes only; any other line would lock its account out without a word. Blank lines are
# fine (htpasswd -n ends with one).
bcrypt_line='^$|^[^:[:space:]]+:\$2[aby]\$[0-9]{2}\$[./A-Za-z0-9]{53}$'
if [ -s "$dir/registry-htpasswd" ] && grep -qvE "$bcrypt_line" "$dir/registry-htpasswd"; then
  echo "create-secrets: refusing: every line of registry-htpasswd must be user:bcrypt-hash" \
    "(htpasswd -nB user); nothing was created" >&2
  exit 1
fi

apply() {
  local name namespace key file
  IFS='|' read -r name namespace key file <<<"$1"
  local type=()
  [ "$key" = ".dockerconfigjson" ] && type=(--type=kubernetes.io/dockerconfigjson)
  # ${type[@]+…}: an empty array under set -u breaks bash before 4.4 (macOS).
  kubectl create secret generic "$name" --namespace "$namespace" ${type[@]+"${type[@]}"} \
    --from-file="$key=$dir/$file" --dry-run=client -o yaml | kubectl apply -f -
}

for entry in "${SECRETS[@]}"; do apply "$entry"; done
for entry in "${OPTIONAL[@]}"; do
  file=${entry##*|}
  if [ -s "$dir/$file" ]; then
    apply "$entry"
  else
    IFS='|' read -r name namespace key _ <<<"$entry"
    echo "create-secrets: no $file: creating $name empty (read as unset)"
    kubectl create secret generic "$name" --namespace "$namespace" --from-literal="$key=" \
      --dry-run=client -o yaml | kubectl apply -f -
  fi
done
for entry in "${IN_CLUSTER_REGISTRY[@]}"; do
  file=${entry##*|}
  if [ -s "$dir/$file" ]; then
    apply "$entry"
  else
    echo "create-secrets: no $file: skipping ${entry%%|*} (only yaml/registry.yaml's in-cluster registry needs it)"
  fi
done
echo "create-secrets: done"
