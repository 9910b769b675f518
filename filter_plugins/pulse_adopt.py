# What an upstream Pulse install's .env means for pulse-ops (playbooks/adopt.yml).
# Runs on the controller. The values go into the vault; messages name settings
# and rules, never values.
#
# The key material to import is what Pulse has actually been using, not merely
# what the file says: Pulse falls back, silently, to public built-in values when
# ENCRYPTION_KEY is unset or shorter than 32 characters, or ENCRYPTION_SALT or
# HASH_SALT is unset (pulse-contract.md). Its sessions are sealed and indexed
# with those, so those are what must be kept, or every session is lost.

# The upstream .env's settings pulse-ops keeps in an inventory's vault.
VAULT_NAMES = {
    "ENCRYPTION_KEY": "vault_encryption_key",
    "ENCRYPTION_SALT": "vault_encryption_salt",
    "HASH_SALT": "vault_hash_salt",
    "JWT_SECRET": "vault_jwt_secret",
    "SESSION_SECRET": "vault_session_secret",
    "WEBHOOK_SECRET": "vault_webhook_secret",
    "REDIS_PASSWORD": "vault_redis_password",
    "FLASH_API_KEY": "vault_flash_api_key",
    "GEMINI_API_KEY": "vault_gemini_api_key",
    "ELEVENLABS_API_KEY": "vault_elevenlabs_api_key",
    "ADMIN_PHONE_NUMBERS": "vault_admin_phone_numbers",
    "FLASH_API_URL": "vault_flash_api_url",
    "RABBITMQ_URL": "vault_rabbitmq_url",
}

DEFAULT_ENCRYPTION_KEY = "pulse-default-encryption-key-32-chars-minimum!!"
DEFAULT_ENCRYPTION_SALT = "flash-connect-salt-default-16chr"
DEFAULT_HASH_SALT = "pulse-hash-salt-default-value"
PUBLIC = {DEFAULT_ENCRYPTION_KEY: "ENCRYPTION_KEY", DEFAULT_ENCRYPTION_SALT: "ENCRYPTION_SALT",
          DEFAULT_HASH_SALT: "HASH_SALT"}
ROTATE = ("sessions are sealed or indexed with a public value: rotate it after the move (every session must be "
          "re-sealed, or its user links again)")


def effective_keys(env):
    """The ENCRYPTION_KEY, ENCRYPTION_SALT and HASH_SALT Pulse uses with this .env, and what is wrong with them."""
    notes = []
    key = env.get("ENCRYPTION_KEY") or ""
    if len(key) < 32:
        notes.append("ENCRYPTION_KEY is %s: Pulse has used its public default key instead; it is imported as that "
                     "default, so every session still opens, but %s"
                     % ("unset" if not key else "%d characters, shorter than 32" % len(key), ROTATE))
        key = DEFAULT_ENCRYPTION_KEY
    salt = env.get("ENCRYPTION_SALT") or ""
    if not salt:
        notes.append("ENCRYPTION_SALT is unset: Pulse has used its public default salt; it is imported as that "
                      "default, but %s" % ROTATE)
        salt = DEFAULT_ENCRYPTION_SALT
    hash_salt = env.get("HASH_SALT") or ""
    if not hash_salt:
        notes.append("HASH_SALT is unset: Pulse has used its public default salt; it is imported as that default, "
                     "but %s" % ROTATE)
        hash_salt = DEFAULT_HASH_SALT
    for value, setting in ((key, "ENCRYPTION_KEY"), (salt, "ENCRYPTION_SALT"), (hash_salt, "HASH_SALT")):
        if PUBLIC.get(value) == setting and env.get(setting) == value:
            notes.append("%s equals the public default built into Pulse: it is imported as it is, so every "
                         "session still opens, but %s" % (setting, ROTATE))
    for setting, minimum in (("ENCRYPTION_SALT", 16), ("HASH_SALT", 16)):
        value = env.get(setting) or ""
        if value and len(value) < minimum:
            notes.append("%s is %d characters, shorter than the minimum of %d in Pulse: imported as it is, "
                         "but rotate it after the move" % (setting, len(value), minimum))
    return {"ENCRYPTION_KEY": key, "ENCRYPTION_SALT": salt, "HASH_SALT": hash_salt}, notes


# Pulse's security.config.ts takes JWT_SECRET only from this length on; a
# shorter one passes its validation, and Pulse then uses a random secret, new
# at every start. Nothing can depend on such a value: it is not imported.
JWT_SECRET_MINIMUM = 64


def adopt_import(env):
    """What to import from an upstream .env: values {vault variable: value} (key material as Pulse uses
    it), notes (what needs a rotation), public (the key names that hold Pulse's public defaults) and
    not_imported (what was left out, and why)."""
    keys, notes = effective_keys(env)
    values = dict(env, **keys)
    not_imported = []
    jwt_secret = values.get("JWT_SECRET") or ""
    if jwt_secret and len(jwt_secret) < JWT_SECRET_MINIMUM:
        not_imported.append("JWT_SECRET is %d characters, shorter than %d: Pulse has used a random one instead, new "
                            "at every start, so nothing depends on it; run make secrets ENV=<env> to generate one"
                            % (len(jwt_secret), JWT_SECRET_MINIMUM))
        values.pop("JWT_SECRET")
    imported = dict((VAULT_NAMES[name], values[name]) for name in VAULT_NAMES if values.get(name))
    public = sorted(name.lower() for name, value in keys.items() if PUBLIC.get(value) == name)
    return {"values": imported, "notes": notes, "public": public, "not_imported": not_imported}


def adopt_conflicts(wanted, vault):
    """The names the vault already holds with another value than the host's."""
    return sorted(name for name, value in wanted.items() if name in vault and str(vault[name]) != str(value))


def adopt_merge(imports):
    """One {name: value} from several hosts' imports; names whose hosts disagree are left out and listed."""
    merged, differ = {}, set()
    for values in imports:
        for name, value in values.items():
            if name in merged and str(merged[name]) != str(value):
                differ.add(name)
            merged.setdefault(name, value)
    return {"values": dict((name, value) for name, value in merged.items() if name not in differ),
            "differ": sorted(differ)}


class FilterModule(object):
    def filters(self):
        return {"pulse_adopt_import": adopt_import, "pulse_adopt_conflicts": adopt_conflicts,
                "pulse_adopt_merge": adopt_merge}
