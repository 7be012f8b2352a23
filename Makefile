# The two commands of this repository (see README.md):
#   make demo   a simulated Kubernetes cluster on this machine with the CRDs, the operator and a sample node
#   make test   formatting, lints, unit tests and tests against a real local control plane
# Both build what they need on first use (Rust crates, and the control-plane binaries with Go).
# After changing the code behind a generated file:
#   make generate   rewrites the CRDs, RBAC and generated docs (make test fails while one is stale)

SHELL := /bin/bash
DEMO_DIR ?= .demo
CARGO ?= cargo
# Control-plane binaries are cached outside the repository by hack/control-plane.sh.
KUBECTL = $(shell bash hack/control-plane.sh | cut -d: -f1)/kubectl --kubeconfig $(DEMO_DIR)/kubeconfig

.PHONY: demo demo-down test generate control-plane s3-server ec2-server crds tools real-node rust

rust:
	@bash hack/ensure-rust.sh

control-plane:
	@bash hack/control-plane.sh >/dev/null

s3-server:
	@bash hack/s3-server.sh >/dev/null

# containerd, runc, the CNI plugins and the stand-in image's static tools (Debian packages, as root).
real-node:
	@bash hack/real-node.sh >/dev/null

ec2-server:
	@bash hack/ec2-server.sh >/dev/null

crds:
	@bash hack/crds.sh gateway-api >/dev/null
	@bash hack/crds.sh prometheus-operator >/dev/null

# helm, promtool and prometheus, built once from their Go modules (about 12 min cold).
tools:
	@bash hack/tools.sh helm >/dev/null
	@bash hack/tools.sh promtool >/dev/null
	@bash hack/tools.sh prometheus >/dev/null
	@bash hack/tools.sh coredns >/dev/null
	@bash hack/tools.sh crictl >/dev/null

demo: rust
	@# A first run on a fresh 2-core machine takes about 20 minutes, mostly builds that
	@# are cached afterwards; every step says what it does and roughly how long.
	@bash hack/control-plane.sh --check 2>/dev/null || echo "demo: building the Kubernetes control plane from its Go modules (first run only: about 10 min)"
	@bash hack/control-plane.sh >/dev/null
	@bash hack/s3-server.sh --check 2>/dev/null || echo "demo: building the S3-compatible server (first run only: about 3 min)"
	@bash hack/s3-server.sh >/dev/null
	@[ -x target/debug/sei-operator ] || echo "demo: building the operator, seictl and the simulated seid (first run only: about 6 min; cargo shows its progress)"
	@$(CARGO) build -p sei-testenv --bin sei-devcluster --bin seid-sim -p sei-operator --bin sei-operator -p seictl --bin seictl
	@echo "demo: starting the simulated cluster (etcd, API server, scheduler, controllers, kwok) and the operator (seconds)"
	@target/debug/sei-devcluster --state-dir $(DEMO_DIR) up \
		--operator target/debug/sei-operator --seictl target/debug/seictl
	@echo
	@echo "$$ kubectl apply -f deploy/samples/full-node.yaml"
	@$(KUBECTL) apply -f deploy/samples/full-node.yaml
	@echo
	@echo "$$ seictl keys generate --out-dir $(DEMO_DIR)/validator-keys   # then one Secret per key file"
	@[ -f $(DEMO_DIR)/validator-keys/node_key.json ] || target/debug/seictl keys generate --out-dir $(DEMO_DIR)/validator-keys
	@for k in signing-key:priv_validator_key.json node-key:node_key.json; do \
		$(KUBECTL) create secret generic demo-validator-$${k%%:*} --from-file=$(DEMO_DIR)/validator-keys/$${k#*:} \
			--dry-run=client -o yaml | $(KUBECTL) apply -f - ; done
	@echo "$$ kubectl apply -f deploy/samples/validator.yaml"
	@$(KUBECTL) apply -f deploy/samples/validator.yaml
	@echo
	@echo "Following the plans until the nodes are Running (hack/demo-watch.sh):"
	@bash hack/demo-watch.sh $(KUBECTL) -- demo-full-node demo-validator || { tail -n 20 $(DEMO_DIR)/operator.log; exit 1; }
	@echo
	@echo "$$ kubectl apply -f deploy/samples/genesis-chain.yaml   # a new chain: 4 validators hold a genesis ceremony"
	@$(KUBECTL) apply -f deploy/samples/genesis-chain.yaml
	@bash hack/demo-watch.sh $(KUBECTL) -- demo-chain-0 demo-chain-1 demo-chain-2 demo-chain-3 || { tail -n 20 $(DEMO_DIR)/operator.log; exit 1; }
	@echo "$$ kubectl wait --for=condition=GenesisCeremonyComplete seinodedeployment/demo-chain"
	@$(KUBECTL) wait --for=condition=GenesisCeremonyComplete seinodedeployment/demo-chain --timeout=120s
	@echo
	@echo "$$ kubectl apply -f deploy/samples/rpc-fleet.yaml   # 2 full nodes of the new chain, peering with its validators by label"
	@$(KUBECTL) apply -f deploy/samples/rpc-fleet.yaml
	@bash hack/demo-watch.sh $(KUBECTL) -- demo-rpc-0 demo-rpc-1 || { tail -n 20 $(DEMO_DIR)/operator.log; exit 1; }
	@echo
	@echo "$$ kubectl get seinodedeployments,seinodes,statefulsets,pods,pvc,services"
	@$(KUBECTL) get seinodedeployments,seinodes,statefulsets,pods,pvc,services
	@echo
	@echo "The validator found the full node by its label: [p2p] persistent-peers in its config.toml ="
	@grep -h '^ *persistent-peers =' $(DEMO_DIR)/pods/default/pvc-data-demo-validator/config/config.toml
	@echo "demo-chain-0 peers with the three other validators of the new chain ="
	@grep -h '^ *persistent-peers =' $(DEMO_DIR)/pods/default/pvc-data-demo-chain-0/config/config.toml
	@echo "demo-rpc-0 found the validators by their label ="
	@grep -h '^ *persistent-peers =' $(DEMO_DIR)/pods/default/pvc-data-demo-rpc-0/config/config.toml
	@echo "$$ kubectl get seinodedeployment demo-chain -o jsonpath='{.status.conditions}'"
	@$(KUBECTL) get seinodedeployment demo-chain -o jsonpath='{range .status.conditions[*]}{.type}={.status} ({.reason}){"\n"}{end}'
	@echo
	@echo "$$ seictl nd list   # the fleets from the CLI (also the kubectl plugin: seictl install-plugin; kubectl sei nd list)"
	@target/debug/seictl nd list --kubeconfig $(DEMO_DIR)/kubeconfig
	@echo
	@echo "$$ seictl bench up --name demo --owner demo -n default --validators 1 --rpc-nodes 1 --duration 20s -o table"
	@echo "  # a throw-away chain, its RPC fleet and a workload Job with a verdict (about a minute; progress below)"
	@target/debug/seictl bench up --name demo --owner demo -n default --validators 1 --rpc-nodes 1 --duration 20s \
		--image ghcr.io/sei-protocol/sei:v6.3.0 --results-bucket results -o table --kubeconfig $(DEMO_DIR)/kubeconfig \
		|| { tail -n 20 $(DEMO_DIR)/operator.log; exit 1; }
	@echo "The workload pod's output (it ran as a local process; its report went to the local S3 server):"
	@cat $(DEMO_DIR)/pods/default/pod-*/workload.log
	@echo "$$ seictl bench list; seictl bench down --name demo --owner demo"
	@target/debug/seictl bench list -n default --kubeconfig $(DEMO_DIR)/kubeconfig
	@target/debug/seictl bench down --name demo --owner demo -n default -o table --kubeconfig $(DEMO_DIR)/kubeconfig
	@echo
	@echo "Point kubectl at the cluster:  export KUBECONFIG=$$(realpath $(DEMO_DIR)/kubeconfig)"
	@echo "Stop it:                       make demo-down"

demo-down:
	@if [ -x target/debug/sei-devcluster ]; then target/debug/sei-devcluster --state-dir $(DEMO_DIR) down; \
	else $(CARGO) run -q -p sei-testenv --bin sei-devcluster -- --state-dir $(DEMO_DIR) down; fi

# Every generated file (CRDs, RBAC, API and config docs, the sidecar's OpenAPI document);
# `make test` fails while any committed one is stale.
generate: rust
	@$(CARGO) run -q -p sei-generate --bin generate

test: rust control-plane s3-server ec2-server crds tools real-node
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	@mkdir -p target
	set -o pipefail; $(CARGO) test --workspace 2>&1 | tee target/test.log
	@# One closing line over every test binary (cargo's last line is a doc-test run).
	@awk '/^test result:/ {p += $$4; f += $$6} END {printf "%d passed, %d failed\n", p, f}' target/test.log
