#!/usr/bin/env bash
# Give the sandbox its own vault: a generated vault password in .vault/ and an
# encrypted inventories/sandbox/group_vars/all/vault.yml, both git-ignored.
# Never overwrites either: the sandbox's Redis keeps the password it was given.
set -euo pipefail

PASSFILE=.vault/sandbox.pass
VAULT=inventories/sandbox/group_vars/all/vault.yml

umask 077
mkdir -p .vault
if [ ! -s "$PASSFILE" ]; then
    python3 -c 'import secrets; print(secrets.token_urlsafe(32))' > "$PASSFILE"
    echo "created the sandbox vault password in $PASSFILE"
fi
if [ ! -s "$VAULT" ]; then
    python3 -c 'import secrets; print("---\nvault_redis_password: " + secrets.token_urlsafe(32))' \
        | ansible-vault encrypt --vault-id "sandbox@$PASSFILE" --encrypt-vault-id sandbox --output "$VAULT" - >/dev/null
    chmod 0600 "$VAULT"
    echo "created $VAULT (ansible-vault view --vault-id sandbox@$PASSFILE $VAULT)"
fi
