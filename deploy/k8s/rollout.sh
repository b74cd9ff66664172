#!/usr/bin/env bash
# One release on Kubernetes, in the order expand → deploy → contract (milestone 5, README
# "Kubernetes: migrations in the rollout"):
#
#   deploy/k8s/rollout.sh registry.example.com/auction-workbook:1.2.3
#
# 1. the expand migrations (Job migrate-expand) with the new image; the old pods keep serving
# 2. the Deployments with the new image (kubectl apply -k), and wait for their rollout
# 3. the contract migrations (Job migrate-contract), only once no old pod is left
# It stops at the first step that fails; running it again resumes (applied migrations are
# recorded in pgmigrations and not run twice).
set -euo pipefail
image=${1:?usage: deploy/k8s/rollout.sh <image:tag>, e.g. registry.example.com/auction-workbook:1.2.3}
cd "$(dirname "$0")"
ns=auction

run_job() {
  local phase=$1
  kubectl -n "$ns" delete job "migrate-$phase" --ignore-not-found --wait=true
  sed "s|image: auction-workbook:.*|image: $image|" "migrations/migrate-$phase.yaml" | kubectl apply -f -
  if ! kubectl -n "$ns" wait --for=condition=complete "job/migrate-$phase" --timeout=600s; then
    echo "rollout: the $phase migrations failed; their log:" >&2
    kubectl -n "$ns" logs "job/migrate-$phase" >&2 || true
    exit 1
  fi
}

run_job expand
kustomize edit set image "auction-workbook=$image"
kubectl apply -k .
kubectl -n "$ns" rollout status deployment/bid-service --timeout=600s
kubectl -n "$ns" rollout status deployment/bid-worker --timeout=600s
run_job contract
echo "rollout: $image is live, and the schema is contracted."
