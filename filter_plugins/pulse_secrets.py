# Pulse's rules for its secrets, as Jinja filters for the pre-flight play and
# playbooks/secrets.yml. Runs on the controller only. Messages name the
# variable and the rule, never a value.

import hashlib
import re

# What each secret must be, after Pulse's production checks
# (Pulse's storage contract): key material >= 32 characters, salts >= 16.
# JWT_SECRET passes Pulse's validation at 32, but security.config.ts uses it
# only from 64 characters on, and otherwise a random secret, new at each start.
# The Redis password is pulse-ops' own rule (roles/redis validates it too).
MINIMUM_LENGTH = {
    "encryption_key": 32,
    "encryption_salt": 16,
    "hash_salt": 16,
    "jwt_secret": 64,
    "session_secret": 32,
    "webhook_secret": 32,
    "redis_password": 16,
}

# The values Pulse falls back to, silently, when a secret is unset or too short.
# They are public: a deployment using any of them must be refused.
PULSE_PUBLIC_DEFAULTS = {
    "pulse-default-encryption-key-32-chars-minimum!!": "Pulse's built-in ENCRYPTION_KEY",
    "flash-connect-salt-default-16chr": "Pulse's built-in ENCRYPTION_SALT",
    "pulse-hash-salt-default-value": "Pulse's built-in HASH_SALT",
}

_PLACEHOLDER = re.compile(r"^(your[_-].*|change[_-]?me.*|x{3,}.*|<.*>|todo|placeholder|secret|password)$",
                          re.IGNORECASE)

# Pulse builds redis://:<REDIS_PASSWORD>@host:port/db without URL-encoding the
# password (redis.module.ts:21): these characters end or split its part of the URL.
URL_BREAKING = "@/:#?%"

# The secrets whose change makes Pulse unable to find or open existing sessions.
SESSION_KEYS = ("encryption_key", "encryption_salt", "hash_salt")


def secret_problems(secrets, prefix="vault_", accept_public=()):
    """Return one message per broken rule, for a dict {name: value} of secrets.

    Names are reported as '<prefix><name>' (the variable the operator edits).
    accept_public names the secrets allowed to hold Pulse's public default: on a
    host taken over from Pulse's installer, its sessions are sealed with it
    (playbooks/adopt.yml writes the list; a rotation removes the need).
    """
    problems = []
    seen = {}
    for name in sorted(MINIMUM_LENGTH):
        variable = prefix + name
        value = secrets.get(name)
        if value is None:
            problems.append("%s is missing: run 'make secrets ENV=<env>' to generate it" % variable)
            continue
        value = str(value)
        if value in PULSE_PUBLIC_DEFAULTS and name in accept_public:
            pass
        elif value in PULSE_PUBLIC_DEFAULTS:
            problems.append("%s equals %s, which is public: generate a new value with 'make secrets'"
                            % (variable, PULSE_PUBLIC_DEFAULTS[value]))
        elif not value.strip() or _PLACEHOLDER.match(value.strip()):
            problems.append("%s is empty or a placeholder: generate it with 'make secrets'" % variable)
        elif len(value) < MINIMUM_LENGTH[name]:
            consequence = {
                "encryption_key": " (Pulse would silently use its public default key)",
                "jwt_secret": " (Pulse would silently use a random one, new at every start)",
            }.get(name, " (Pulse refuses to start in production)")
            problems.append("%s is %d characters, shorter than Pulse's minimum of %d%s"
                            % (variable, len(value), MINIMUM_LENGTH[name], consequence))
        if name == "redis_password":
            breaking = sorted(set(value) & set(URL_BREAKING), key=URL_BREAKING.index)
            if breaking:
                problems.append("%s holds %s, which breaks the redis://:<password>@host URL Pulse builds from it "
                                "(Pulse does not URL-encode it): choose a password without %s, or generate one "
                                "with 'make secrets' (letters and digits)"
                                % (variable, " and ".join("'%s'" % char for char in breaking),
                                   " ".join(URL_BREAKING)))
        if value in seen:
            problems.append("%s and %s share one value: every secret must be different"
                            % (prefix + seen[value], variable))
        else:
            seen[value] = name
    return problems


def fingerprint(value, length=16):
    """A short SHA-256 prefix: tells two values apart, reveals nothing of them."""
    return hashlib.sha256(str(value).encode("utf-8")).hexdigest()[:length]


def fingerprints(secrets, names=None):
    """{name: fingerprint} for the named secrets (all of them by default)."""
    names = names or sorted(secrets)
    return dict((name, fingerprint(secrets[name])) for name in names if name in secrets)


def changed_fingerprints(wanted, recorded):
    """Names whose fingerprint in wanted differs from the one recorded."""
    recorded = recorded or {}
    return sorted(name for name in wanted if name in recorded and recorded[name] != wanted[name])


def fingerprint_report(secrets, names, generated=None):
    """One line per name: '<name>  <fingerprint>', plus 'generated now' or 'kept'
    when the names generated in this run are given."""
    width = max(len(name) for name in names)
    lines = []
    for name in sorted(names):
        if name in secrets:
            line = "%-*s  %s" % (width, name, fingerprint(secrets[name]))
            if generated is not None:
                line += "  generated now" if name in generated else "  kept"
            lines.append(line.rstrip())
    return lines


class FilterModule(object):
    def filters(self):
        return {
            "pulse_secret_problems": secret_problems,
            "pulse_fingerprint": fingerprint,
            "pulse_fingerprints": fingerprints,
            "pulse_fingerprint_report": fingerprint_report,
            "pulse_changed_fingerprints": changed_fingerprints,
        }
