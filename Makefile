# image-redirect-policy — build, demo, test.
#
#   make demo   build the policy and evaluate sample admission requests on the embedded waPC host
#   make test   every test: unit tables, the native command, embedded-host e2e, the browser playground,
#               the kwctl suite against a stand-in kwctl (and against kwctl itself if installed)

SHELL := /bin/bash
WASM_TARGET := wasm32-wasip1
POLICY_BUILD := target/$(WASM_TARGET)/release/image_redirect_policy.wasm
SOURCES := $(shell find src -name '*.rs') Cargo.toml Cargo.lock
# The embedded waPC host (wasmtime, as policy-server embeds it), built for a
# short cold build (the `e2e` profile, see Cargo.toml; `make bench` builds an
# optimised one). Its registry client is the feature `registry`, which only the
# tests, `push` and `run registry://` need; both builds share one wasmtime.
HOST_BUILD := cargo build --profile e2e -p image-redirect-e2e
HOST := target/e2e/image-redirect-e2e
REGISTRY ?= ghcr.io/image-redirect-policy/policies/image-redirect
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)

FLOORS := target/floor/mutate.wasm target/floor/accept.wasm
FLOOR_BUILD := cargo build --release --target $(WASM_TARGET) --manifest-path e2e/floor/Cargo.toml --target-dir target/floor

.PHONY: demo host test unit-tests cli-tests image-redirect playground playground-tests e2e-host-tests e2e-tests e2e-suite-tests bats-tools registry-tools runtime-tools bench fuzz fmt lint clean push wasm-target artifacthub-pkg.yml

# Panic locations name source files: the dependencies' are written as /cargo/…,
# not under this machine's cargo home, so any clone builds the same bytes.
POLICY_RUSTFLAGS := --remap-path-prefix=$(or $(CARGO_HOME),$(HOME)/.cargo)=/cargo

policy.wasm: $(SOURCES) Makefile | wasm-target
	@echo "==> policy.wasm: the policy for $(WASM_TARGET) (release, LTO; about a minute the first time)"
	RUSTFLAGS="$(RUSTFLAGS) $(POLICY_RUSTFLAGS)" cargo build --target $(WASM_TARGET) --release
	cp $(POLICY_BUILD) policy.wasm

wasm-target:
	@rustup target list --installed 2>/dev/null | grep -qx $(WASM_TARGET) || rustup target add $(WASM_TARGET)

demo: policy.wasm host
	@echo "==> sample admission requests through policy.wasm on the embedded waPC host"
	@$(HOST) demo --policy policy.wasm

host:
	@echo "==> the embedded waPC host (wasmtime; about two minutes the first time, seconds after)"
	$(HOST_BUILD)

test: unit-tests cli-tests e2e-host-tests e2e-suite-tests e2e-tests playground-tests

unit-tests:
	cargo test -p image-redirect-policy

# The native command (export, preview): golden files, the node agreement tests (K3s, Talos,
# OpenShift), the OpenShift objects against their CRDs, and real pulls
# through the exported files (skopeo with registries.conf, containerd with hosts.toml).
cli-tests: registry-tools runtime-tools
	cargo test --profile e2e -p image-redirect-cli

# `target/e2e/image-redirect export|preview …` (see the README: "Redirect at the node instead").
image-redirect:
	cargo build --profile e2e -p image-redirect-cli
	@echo "built target/e2e/image-redirect"

# Built after the host so a second build of wasmtime shows: the demo's build and
# the tests' must resolve the same features for everything wasmtime depends on.
e2e-host-tests: policy.wasm $(FLOORS) registry-tools host
	@echo "==> e2e tests: policy.wasm on the embedded host, with a real registry"
	@set -o pipefail; POLICY_WASM=$(CURDIR)/policy.wasm cargo test --profile e2e -p image-redirect-e2e \
		--features registry 2>&1 | tee target/e2e-tests.log
	@! grep -q "Compiling wasmtime v" target/e2e-tests.log || { echo "e2e-host-tests: the tests built \
		wasmtime a second time: align the features of shared dependencies (see e2e/Cargo.toml)"; exit 1; }

# Installs the Debian packages $(2) (default: $(1)) when a command of $(1) is missing and we are root (as in CI).
define debian-tools
	@for tool in $(1); do command -v $$tool >/dev/null || missing=yes; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(or $(2),$(1)) >/dev/null; \
		else \
			echo "$@: install Debian's $(or $(2),$(1)) (apt-get install $(or $(2),$(1)))"; exit 1; \
		fi; \
	fi
endef

# A real OCI registry for the e2e tests (mirror checks, the policy as an OCI artifact):
# Debian's docker-registry, filled with skopeo; htpasswd writes a registry's logins.
registry-tools:
	$(call debian-tools,docker-registry skopeo)
	$(call debian-tools,htpasswd,apache2-utils)

# A real containerd for the export's pull tests, run by the test as a plain process (no service).
# Installed when missing and we are root; otherwise those tests say they are skipped and why.
runtime-tools:
	@command -v containerd >/dev/null && command -v ctr >/dev/null || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq containerd >/dev/null; \
		else \
			echo "runtime-tools: containerd is missing and installing it needs root: the containerd pull test will be skipped"; \
		fi; }

# The minimal guests the benchmarks compare against (e2e/floor).
$(FLOORS) &: e2e/floor/src/lib.rs e2e/floor/Cargo.toml | wasm-target
	@echo "==> the floor guests the host tests and benchmarks compare against (e2e/floor)"
	$(FLOOR_BUILD)
	cp target/floor/$(WASM_TARGET)/release/floor.wasm target/floor/mutate.wasm
	$(FLOOR_BUILD) --features accept-only
	cp target/floor/$(WASM_TARGET)/release/floor.wasm target/floor/accept.wasm

bench: policy.wasm $(FLOORS) registry-tools
	@echo "==> benchmarks on an optimised host (the bench profile; about 9 minutes to build the first time)"
	cargo bench -p image-redirect-e2e --bench admission -- $(BENCH)
	@echo "==> seed against skopeo: 24 images between loopback registries (cli/benches/seed.rs)"
	cargo bench -p image-redirect-cli --bench seed

# Each fuzz target for FUZZ_SECONDS (nightly + cargo-fuzz; not part of `make test`).
FUZZ_SECONDS ?= 30
fuzz:
	@command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz
	cd fuzz && for target in reference settings validate messages; do \
		mkdir -p corpus/$$target && \
		cargo +nightly fuzz run $$target corpus/$$target seeds/$$target -- -max_total_time=$(FUZZ_SECONDS) || exit 1; \
	done

# Kubewarden's usual kwctl suite, for users who have kwctl (and bats >= 1.5).
e2e-tests: policy.wasm
	@if command -v kwctl >/dev/null && command -v bats >/dev/null; then \
		$(MAKE) annotated-policy.wasm && bats e2e/e2e.bats; \
	else \
		echo "e2e-tests: SKIPPED: kwctl and bats are not both on PATH (the embedded-host e2e tests cover the same scenarios)"; \
	fi

# The same suite where kwctl cannot be installed (CI): e2e/stand-in/kwctl answers `kwctl run` from the
# embedded host and logs a colour-coded WARN line on stderr, as kwctl does offline, so the suite's
# reading of stdout and stderr is exercised on every run.
e2e-suite-tests: policy.wasm host bats-tools
	@echo "==> the kwctl suite against e2e/stand-in/kwctl"
	PATH="$(CURDIR)/e2e/stand-in:$$PATH" IMAGE_REDIRECT_E2E=$(abspath $(HOST)) POLICY=policy.wasm bats e2e/e2e.bats

# bats (>= 1.5, for run --separate-stderr) and jq, from Debian.
bats-tools:
	$(call debian-tools,bats jq)

annotated-policy.wasm: policy.wasm policy-metadata/metadata.yml README.md
	@command -v kwctl >/dev/null || { echo "annotated-policy.wasm: needs kwctl on PATH"; exit 1; }
	kwctl annotate -m policy-metadata/metadata.yml -u README.md -o annotated-policy.wasm policy.wasm

artifacthub-pkg.yml: policy-metadata/metadata.yml artifacthub/questions-ui.yml
	@command -v kwctl >/dev/null || { echo "artifacthub-pkg.yml: needs kwctl on PATH"; exit 1; }
	kwctl scaffold artifacthub --metadata-path policy-metadata/metadata.yml \
		--questions-path artifacthub/questions-ui.yml > artifacthub/artifacthub-pkg.yml

push: annotated-policy.wasm
	@command -v kwctl >/dev/null || { echo "push: needs kwctl on PATH"; exit 1; }
	kwctl push annotated-policy.wasm $(REGISTRY):v$(VERSION)

fmt:
	cargo fmt --all

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --profile e2e --features image-redirect-e2e/registry -- -D warnings

clean:
	cargo clean
	rm -rf policy.wasm annotated-policy.wasm playground/dist playground/screenshots

# The browser playground (playground/): the engine built with wasm-bindgen, inlined
# into a static page that works from file:// (open playground/dist/index.html).
WASM_BINDGEN_VERSION := $(shell sed -n 's/^wasm-bindgen = "=\(.*\)"/\1/p' playground/Cargo.toml)
PLAYGROUND_WASM := target/wasm32-unknown-unknown/release/image_redirect_playground.wasm
PLAYGROUND_SOURCES := $(SOURCES) $(shell find cli/src playground/src playground/web -type f) playground/Cargo.toml

playground: playground/dist/index.html

playground/dist/index.html: $(PLAYGROUND_SOURCES)
	@rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
	@wasm-bindgen --version 2>/dev/null | grep -q " $(WASM_BINDGEN_VERSION)$$" || cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION)
	cargo build --release --target wasm32-unknown-unknown -p image-redirect-playground
	rm -rf playground/dist && mkdir -p playground/dist
	wasm-bindgen --target no-modules --no-typescript --remove-name-section --remove-producers-section --out-dir playground/dist $(PLAYGROUND_WASM)
	{ printf 'globalThis.ENGINE_WASM = "'; base64 -w0 playground/dist/image_redirect_playground_bg.wasm; printf '";\n'; } > playground/dist/engine-wasm.js
	cp playground/web/* playground/dist/

# Headless chromium drives the page; chromium is installed when missing and we are root (as in CI).
playground-tests:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; fi
	@if [ -x /usr/bin/chromium ]; then \
		$(MAKE) --no-print-directory playground && cd playground && npm ci --no-audit --no-fund --silent && node tests/browser.mjs; \
	else echo "SKIPPED playground browser tests: /usr/bin/chromium is not installed (apt-get install chromium)"; fi
