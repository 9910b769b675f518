# pulse-ops: two commands on a fresh machine.
#   make deploy   the full stack on the local sandbox (pulse-sandbox container)
#   make test     lint, unit tests, every molecule scenario
# Each installs what it needs itself: Debian packages, the venvs, the image.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV        := .venv
VENV_DEBIAN := .venv-debian
PYTHON      ?= python3
SANDBOX_INV := inventories/sandbox
VAULT_ID    := sandbox@.vault/sandbox.pass
# make secrets ENV=<inventory> [VAULT_PASSWORD_FILE=<file>]
ENV         ?= sandbox
VAULT_PASSWORD_FILE ?= .vault/$(ENV).pass
# Upstream Pulse's source: git by default; a `git archive` of the commit for
# controllers without GitHub (make deploy PULSE_ARCHIVE=<file>). Where this
# workplace's copy of the supported commit is present (beside the checkout, or
# at the workplace's fixed path for a clone made elsewhere), it is the default,
# and every test that deploys Pulse builds from it.
PULSE_ARCHIVE ?= $(firstword $(wildcard $(CURDIR)/../shared/upstream/pulse-4e63375.tar.gz \
                                        /work/shared/upstream/pulse-4e63375.tar.gz))
# make pulse-lockfile COMMIT=<full commit id> [PULSE_ARCHIVE=<file>]
COMMIT      ?=
DEFAULT_COMMIT := 4e63375b0d93ea162e7224de8b276cb5d184c47f

export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export CONTAINERS_CONF := $(CURDIR)/containers.conf
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export ANSIBLE_FORCE_COLOR ?= 0
export PY_COLORS ?= 0
export PULSE_ARCHIVE

.PHONY: help deploy test lint unit unit-debian molecule system-deps system-deps-test image sandbox \
        sandbox-destroy vault secrets venv bench bench-cleanup clean pulse-lockfile verify-restarts

help:
	@echo "make deploy   converge the full stack on the local sandbox (run it again: nothing changes)"
	@echo "make test     lint, unit tests (venv and Debian 12 library versions), every molecule scenario"
	@echo "make bench    time Pulse's build, a fresh converge, a re-run, restarts and the session audit (BENCHMARKS.md)"
	@echo "make secrets ENV=<env> VAULT_PASSWORD_FILE=<file>   generate missing keys/salts into inventories/<env>'s vault"
	@echo "make pulse-lockfile COMMIT=<sha> [PULSE_ARCHIVE=<file>]   record the pins and lockfile of a new upstream commit"
	@echo "make verify-restarts [ENV=<env> VAULT_PASSWORD_FILE=<file>]   prove now that users survive Redis and Pulse restarts"

# --- toolchain --------------------------------------------------------------
$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements.txt
	ansible-galaxy collection install -r requirements.yml >/dev/null
	touch $@

$(VENV_DEBIAN)/.installed: requirements-debian.txt requirements.txt
	$(PYTHON) -m venv $(VENV_DEBIAN)
	$(VENV_DEBIAN)/bin/pip install -q --disable-pip-version-check -r requirements-debian.txt \
	    "$$(grep '^ansible-core==' requirements.txt)" "$$(grep '^pytest==' requirements.txt)"
	touch $@

venv: $(VENV)/.installed

system-deps:
	scripts/system-deps.sh deploy

system-deps-test:
	scripts/system-deps.sh test

image: system-deps
	scripts/build-image.sh deps

# --- make deploy ------------------------------------------------------------
sandbox: image
	scripts/sandbox.sh up

sandbox-destroy:
	scripts/sandbox.sh destroy

# The sandbox's vault password is generated here (git-ignored); every other
# environment's password file is the operator's to create and keep.
vault: venv
	@umask 077; mkdir -p .vault; \
	if [ ! -s .vault/sandbox.pass ]; then \
	    $(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(32))' > .vault/sandbox.pass; \
	    echo "created the sandbox vault password in .vault/sandbox.pass"; \
	fi
	$(MAKE) --no-print-directory secrets ENV=sandbox VAULT_PASSWORD_FILE=.vault/sandbox.pass

secrets: venv
	ansible-playbook -i localhost, playbooks/secrets.yml -e pulse_env=$(ENV) \
	    -e pulse_vault_password_file=$(abspath $(VAULT_PASSWORD_FILE))

deploy: venv sandbox vault
	ansible-playbook playbooks/site.yml -i $(SANDBOX_INV) --vault-id $(VAULT_ID) \
	    $(if $(PULSE_ARCHIVE),-e pulse_archive=$(abspath $(PULSE_ARCHIVE)))

# verify.yml's restart proof on request (it runs by itself only when due):
# save, restart Redis and Pulse, find a canary user with Pulse's own code.
verify-restarts: venv
	ansible-playbook playbooks/verify.yml -i inventories/$(ENV) \
	    --vault-id $(ENV)@$(abspath $(VAULT_PASSWORD_FILE)) -e verify_restarts=true

pulse-lockfile: venv
	@test -n "$(COMMIT)" || { echo "name the commit: make pulse-lockfile COMMIT=<full commit id> [PULSE_ARCHIVE=<file>]"; exit 2; }
	ansible-playbook playbooks/pulse-lockfile.yml -e pulse_version=$(COMMIT) \
	    $(if $(filter-out file,$(origin PULSE_ARCHIVE)),-e pulse_archive=$(abspath $(PULSE_ARCHIVE)))

# --- make test --------------------------------------------------------------
lint: venv
	yamllint --strict .
	ruff check library module_utils doc_fragments filter_plugins connection_plugins lookup_plugins tests bench molecule
	ansible-doc -t connection podman_exec >/dev/null
	ansible-doc -t lookup pulse_vault >/dev/null
	ansible-doc -t lookup pulse_run >/dev/null
	ansible-lint --profile production --strict
	for m in $(basename $(notdir $(wildcard library/*.py))); do \
	    ansible-doc -M library $$m >/dev/null || { echo "ansible-doc cannot render $$m"; exit 1; }; \
	done

unit: venv system-deps-test
	pytest tests

unit-debian: $(VENV_DEBIAN)/.installed system-deps-test
	$(VENV_DEBIAN)/bin/pytest -m "not playbook" tests

molecule: venv image
	scripts/molecule-all.sh

# The longest scenario starts first, in the background; lint and the unit tests
# run in the foreground lane meanwhile, then the other scenarios.
test: venv $(VENV_DEBIAN)/.installed image system-deps-test
	@test -n "$(PULSE_ARCHIVE)" || { echo "the tests deploy upstream Pulse from a source archive, and none was" \
	    "found: set PULSE_ARCHIVE to a git archive of $(DEFAULT_COMMIT) (pulse-4e63375.tar.gz)"; exit 2; }
	scripts/molecule-all.sh lint unit unit-debian

bench: venv image vault bench-cleanup
	bench/build.sh
	bench/converge.sh

bench-cleanup: venv system-deps-test
	$(VENV)/bin/python bench/cleanup.py

clean: sandbox-destroy
	rm -rf $(VENV) $(VENV_DEBIAN)
