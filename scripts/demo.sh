#!/usr/bin/env bash
# NIC's main job on the embedded default (local state backend), end to end, with the real
# binary against a real AWS emulator (moto_server, started here on loopback and stopped at the
# end):
#   1. "Terraform" (boto3 playing Nebari's stage 02/03 modules) creates a Nebari AWS stack in
#      moto and writes the terraform.tfstate files those stages would hold.
#   2. nic validate, nic import --from-terraform (import report), nic plan: 0 changes.
#   3. A node group is added to the config: nic deploy makes exactly 1 change; again: 0.
#   4. A node group's scaling is changed out of band (aws CLI); nic drift detect reports it,
#      nic drift fix repairs it.
#   5. Where the state, history and outputs.json are.
# Env: NIC_DEMO_DIR (default ./demo-work), NIC_BINARY (skip the build and use this binary).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${NIC_DEMO_DIR:-$PWD/demo-work}"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*" >&2; }
run() { printf '$ %s\n' "$*" >&2; "$@"; }

if [[ -z "${NIC_BINARY:-}" ]]; then
  step "Installing what is missing and building nic"
  bash "$ROOT/scripts/setup.sh"
  cmake -S "$ROOT" -B "$ROOT/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  ninja -C "$ROOT/build" nic >/dev/null
  NIC_BINARY="$ROOT/build/nic"
fi
nic() { "$NIC_BINARY" "$@"; }

rm -rf "$WORK"
mkdir -p "$WORK"
cd "$WORK"

step "Starting moto_server (AWS emulator) on 127.0.0.1"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"
MOTO_IAM_LOAD_MANAGED_POLICIES=true moto_server -H 127.0.0.1 -p "$PORT" >"$WORK/moto.log" 2>&1 &
MOTO_PID=$!
trap 'kill "$MOTO_PID" 2>/dev/null || true; wait "$MOTO_PID" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$PORT/moto-api/data.json" >/dev/null 2>&1 && break
  sleep 0.1
done
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-west-2 AWS_DEFAULT_REGION=us-west-2
export AWS_ENDPOINT_URL="http://127.0.0.1:$PORT" AWS_PAGER=""
echo "moto_server pid $MOTO_PID on port $PORT" >&2

step "1. Terraform's view: a Nebari AWS stack in moto and its stage 02/03 tfstate files"
python3 "$ROOT/scripts/demo/make_terraform_stack.py" --endpoint "$AWS_ENDPOINT_URL" --out "$WORK/terraform" >&2
ls -1 "$WORK/terraform" >&2

STATE="$WORK/.nebari/stages/02-infrastructure/nic-state.json"
CONFIG="$WORK/terraform/nebari-config.yaml"

step "2. Validate the config, import the Terraform state, plan"
run nic validate -f "$CONFIG"
run nic import --from-terraform --config "$CONFIG" \
  --terraform-state-02 "$WORK/terraform/02-infrastructure.tfstate" \
  --terraform-state-03 "$WORK/terraform/03-kubernetes-initialize.tfstate" \
  --output-state "$STATE" --output-file "$WORK/outputs.json"
run nic plan -f "$CONFIG" --state "$STATE"

step "3. Add a node group to the config and deploy (twice)"
cp "$CONFIG" "$WORK/nebari-config.yaml"
python3 - "$WORK/nebari-config.yaml" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
s = s.replace("certificate:", "    gpu:\n      instance: g4dn.xlarge\n      min_nodes: 0\n      max_nodes: 2\ncertificate:")
open(p, "w").write(s)
PY
CONFIG="$WORK/nebari-config.yaml"
run nic deploy -f "$CONFIG" --state "$STATE" --outputs "$WORK/outputs.json" --auto-approve
run nic deploy -f "$CONFIG" --state "$STATE" --outputs "$WORK/outputs.json" --auto-approve

step "4. Someone changes the 'general' node group's scaling outside NIC"
if command -v aws >/dev/null 2>&1; then
  run aws eks update-nodegroup-config --cluster-name nicdemo-dev --nodegroup-name general \
    --scaling-config minSize=1,maxSize=8,desiredSize=1 --query 'update.status' --output text
else  # no AWS CLI on this machine: the same call through boto3
  run python3 -c 'import boto3,os; print(boto3.client("eks", endpoint_url=os.environ["AWS_ENDPOINT_URL"]).update_nodegroup_config(clusterName="nicdemo-dev", nodegroupName="general", scalingConfig={"minSize":1,"maxSize":8,"desiredSize":1})["update"]["status"])'
fi
set +e
run nic drift detect --state "$STATE" --detailed-exitcode
rc=$?
set -e
[[ $rc -eq 2 ]] || { echo "expected drift (exit 2), got $rc" >&2; exit 1; }
run nic drift fix --state "$STATE"
run nic drift detect --state "$STATE" --detailed-exitcode
run python3 -c 'import boto3,json,os; print(json.dumps(boto3.client("eks", endpoint_url=os.environ["AWS_ENDPOINT_URL"]).describe_nodegroup(clusterName="nicdemo-dev", nodegroupName="general")["nodegroup"]["scalingConfig"]))'

step "5. Where everything is"
run nic state history --state "$STATE"
cat >&2 <<EOF2

  state:        $STATE
  backup:       $STATE.backup
  history DB:   $(dirname "$STATE")/nic-history.db   (nic state history / show --serial N / rollback --to N)
  outputs.json: $WORK/outputs.json
  terraform:    $WORK/terraform/   (the tfstate files that were imported)

Stopping moto_server.
EOF2
