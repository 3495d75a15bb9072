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
  # of-builder verifies the same payload-secret (original-spec §14) and pushes with registry-secret's config.json.
  "payload-secret|openfaas|payload-secret|payload-secret"
  "registry-secret|openfaas|config.json|registry-config.json"
)
# Optional file: stack.yml mounts the customers secret into github-event, so it must exist; without the file it is
# created empty, and an empty list means github-event reads customers_url instead.
OPTIONAL=("customers|openfaas-fn|customers|customers")

missing=()
for entry in "${SECRETS[@]}"; do
  file=${entry##*|}
  [ -s "$dir/$file" ] || missing+=("$file")
done
if [ "${#missing[@]}" -ne 0 ]; then
  echo "create-secrets: refusing: missing or empty in $dir: ${missing[*]}; nothing was created" >&2
  exit 1
fi

apply() {
  local name namespace key file
  IFS='|' read -r name namespace key file <<<"$1"
  kubectl create secret generic "$name" --namespace "$namespace" --from-file="$key=$dir/$file" \
    --dry-run=client -o yaml | kubectl apply -f -
}

for entry in "${SECRETS[@]}"; do apply "$entry"; done
for entry in "${OPTIONAL[@]}"; do
  file=${entry##*|}
  if [ -s "$dir/$file" ]; then
    apply "$entry"
  else
    IFS='|' read -r name namespace key _ <<<"$entry"
    echo "create-secrets: no $file: creating $name empty (github-event then reads customers_url)"
    kubectl create secret generic "$name" --namespace "$namespace" --from-literal="$key=" \
      --dry-run=client -o yaml | kubectl apply -f -
  fi
done
echo "create-secrets: done"
