"""One coerced, checked layer of a role's settings, for the pre-flight and the roles to read.

Values given with -e arrive as strings ("600", "false"); role argument
validation checks them but does not write the converted values back, and -e
outranks set_fact. So each role turns its variables, typed by its own
meta/argument_specs.yml (Ansible's own type conversions), into one dict the
role and every playbook read (redis_settings: port, save_rules, ...), and
refuses values Redis or Pulse would refuse or that would cost sessions, with
messages that name the variable, the rule and the fix, never a secret.

    - ansible.builtin.set_fact:
        __redis_checked: "{{ __raw | pulse_role_settings('redis') }}"
      vars:
        __raw: "{{ dict(__names | zip(query('ansible.builtin.vars', *__names))) }}"
        __names: "{{ 'redis' | pulse_role_option_names }}"
"""

import ipaddress
import json
import os
import re

import yaml
from ansible.module_utils.common.validation import (
    check_type_bool,
    check_type_int,
    check_type_list,
    check_type_path,
    check_type_str,
)

ROLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "roles")
_SPECS = {}

TYPE_NAMES = {"int": "a whole number", "bool": "true or false", "list": "a list", "str": "a string",
              "path": "a path", "dict": "a mapping"}


def role_options(role):
    """The options of a role's main entry point, from its meta/argument_specs.yml (read once)."""
    if role not in _SPECS:
        with open(os.path.join(ROLES, role, "meta", "argument_specs.yml")) as handle:
            _SPECS[role] = yaml.safe_load(handle)["argument_specs"]["main"]["options"]
    return _SPECS[role]


def option_names(role):
    return sorted(role_options(role))


def _shown(name, value, spec):
    return "%s (not shown)" % name if spec.get("no_log") else "%s is %s" % (name, json.dumps(value, default=str))


def _convert(kind, value):
    if kind == "int":
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise TypeError("not a whole number")
        return check_type_int(value)
    if kind == "bool":
        return check_type_bool(value)
    if kind == "list":
        return check_type_list(value)
    if kind == "path":
        return check_type_path(value)
    if kind == "dict":
        if not isinstance(value, dict):
            raise TypeError("not a mapping")
        return value
    if isinstance(value, (dict, list)):
        raise TypeError("not a string")
    return check_type_str(value, allow_conversion=True)


def coerce(variables, role):
    """(settings, problems): each option converted to its declared type, or a problem naming it."""
    settings, problems = {}, []
    for name, spec in sorted(role_options(role).items()):
        value = variables.get(name, spec.get("default"))
        kind = spec.get("type", "str")
        if value is None:
            settings[name] = None
            continue
        original = value
        try:
            value = _convert(kind, value)
            if kind == "list" and spec.get("elements"):
                value = [_convert(spec["elements"], item) for item in value]
        except (TypeError, ValueError):
            problems.append("%s: it must be %s%s." % (
                _shown(name, value, spec), TYPE_NAMES.get(kind, kind),
                " of %ss" % TYPE_NAMES.get(spec["elements"], spec["elements"]).split(" ", 1)[-1]
                if kind == "list" and spec.get("elements") else ""))
            continue
        outside = [item for item in (value if kind == "list" else [value]) if item not in spec.get("choices", [item])]
        if outside:
            problems.append("%s: choose one of %s%s." % (
                _shown(name, original, spec), ", ".join(map(str, spec["choices"])),
                " (YAML reads a bare no or yes as a boolean: quote it)" if isinstance(original, bool) else ""))
            continue
        settings[name] = value
    return settings, problems


# --- redis ----------------------------------------------------------------------------------------
_RULE = re.compile(r"^\s*([1-9][0-9]*)\s+([1-9][0-9]*)\s*$")
_MEMORY = re.compile(r"^[0-9]+([kKmMgG][bB]?)?$")
_SYSTEM_DIRS = ("/", "/etc", "/usr", "/var", "/tmp", "/root", "/home", "/bin", "/sbin", "/lib", "/boot", "/proc",  # noqa: S108
                "/sys", "/dev", "/run")
_PASSWORD = re.compile(r"^[A-Za-z0-9!#$%&()*+,./:;<=>?@^_{|}~\[\]-]+$")
OVERRIDE = "redis_accept_weaker_durability"


def _is_address(text):
    try:
        ipaddress.ip_address(text.lstrip("-"))
    except ValueError:
        return text == "localhost"
    return True


def _redis_password_problems(password):
    if not password:
        return ["redis_requirepass is empty: Redis would accept any client. Set it from the vault, e.g. "
                "`redis_requirepass: \"{{ vault_redis_password }}\"` in inventories/<env>/group_vars/all/vars.yml, "
                "with vault_redis_password in vault.yml."]
    if len(password) < 16 or not _PASSWORD.match(password):
        return ["redis_requirepass is too short or holds spaces, quotes or backslashes: use at least 16 characters "
                "of letters, digits and punctuation other than quotes and backslash (it is not shown here)."]
    return []


def _redis_durability_problems(s):
    weaker = []
    if not s["redis_save_rules"]:
        weaker.append("redis_save_rules is [] (no snapshots)")
    if not s["redis_appendonly"]:
        weaker.append("redis_appendonly is false (no AOF: a crash loses every write since the last snapshot)")
    if s["redis_appendfsync"] == "no":
        weaker.append("redis_appendfsync is \"no\" (the kernel decides when the AOF reaches the disk)")
    if not s["redis_rdbchecksum"]:
        weaker.append("redis_rdbchecksum is false (a damaged dump.rdb would load without error)")
    if not s["redis_stop_writes_on_bgsave_error"]:
        weaker.append("redis_stop_writes_on_bgsave_error is false (writes go on while nothing reaches the disk)")
    if weaker and not s[OVERRIDE]:
        return ["%s: this weakens what keeps sessions on disk. Use the defaults, or set %s: true to accept it "
                "on purpose." % ("; ".join(weaker), OVERRIDE)]
    return []


def _redis_problems(s, password):
    problems = _redis_password_problems(password)
    if not 1 <= s["redis_port"] <= 65535:
        problems.append("redis_port is %d: a TCP port is 1 to 65535 (Redis's own is 6379)." % s["redis_port"])
    if not s["redis_bind"] or not all(isinstance(a, str) and _is_address(a) for a in s["redis_bind"]):
        problems.append("redis_bind is %s: give a list of IP addresses, e.g. [\"127.0.0.1\", \"::1\"]."
                        % json.dumps(s["redis_bind"]))
    elif not [a for a in s["redis_bind"] if a in ("127.0.0.1", "::1", "-::1", "localhost")]:
        problems.append("redis_bind is %s: add 127.0.0.1 (or ::1); pulse-ops connects to Redis over loopback."
                        % json.dumps(s["redis_bind"]))
    path = s["redis_data_dir"] or ""
    if not path.startswith("/") or path.rstrip("/") in _SYSTEM_DIRS or path == "/" or re.search(r'[\s"\\]', path):
        problems.append("redis_data_dir is %s: give an absolute path, without spaces or quotes, to a directory of "
                        "Redis's own, e.g. /var/lib/redis." % json.dumps(path))
    bad_rules = [rule for rule in s["redis_save_rules"] if not _RULE.match(rule)]
    if bad_rules:
        problems.append("redis_save_rules has invalid rules %s: each rule is \"<seconds> <changes>\", two whole "
                        "numbers of at least 1, for example \"900 1\"." % json.dumps(bad_rules))
    if not _MEMORY.match(s["redis_maxmemory"]):
        problems.append("redis_maxmemory is %s: use bytes or a number with k, kb, m, mb, g or gb, for example "
                        "\"512mb\" (\"0\" means no limit)." % json.dumps(s["redis_maxmemory"]))
    if s["redis_maxmemory_policy"] != "noeviction":
        problems.append("redis_maxmemory_policy is %s: only noeviction keeps every session. The others evict keys "
                        "when memory is full, volatile-* ones too, since Pulse's sessions carry a TTL. Raise "
                        "redis_maxmemory instead." % s["redis_maxmemory_policy"])
    for name in ("redis_save_timeout", "redis_aof_rewrite_timeout", "redis_restart_timeout"):
        if not 1 <= s[name] <= 86400:
            problems.append("%s is %d: give seconds from 1 to 86400." % (name, s[name]))
    return problems + _redis_durability_problems(s)


# --- pulse ----------------------------------------------------------------------------------------
_PORTS = re.compile(r"^([0-9]{1,5})(?:-([0-9]{1,5}))?$")
_NUMBER = re.compile(r"^[0-9]{6,15}$")
_MINIMUMS = (
    ("pulse_keep_releases", 2, 100, "the current release and one to roll back to"),
    ("pulse_ready_timeout", 5, 3600, "seconds a start may take until ready"),
    ("pulse_keycheck_sample_size", 1, 100000, "sessions opened before new keys are used"),
    ("pulse_session_expiry", 1, 31536000, "seconds"),
    ("pulse_heap_max_mb", 128, 65536, "MB of V8 heap; Pulse needs about 100"),
    ("pulse_log_burst", 100, 1000000, "lines per interval; a start logs about 150"),
    ("pulse_port", 1, 65535, "a TCP port"),
    ("pulse_redis_port", 1, 65535, "a TCP port"),
    ("pulse_redis_db", 0, 15, "one of Redis's 16 databases"),
)


def _pulse_problems(s):
    problems = []
    for name, low, high, what in _MINIMUMS:
        if not low <= s[name] <= high:
            problems.append("%s is %d: give %d to %d (%s)." % (name, s[name], low, high, what))
    bad_numbers = [number for number in s["pulse_whatsapp_instances"] if not _NUMBER.match(number)]
    if bad_numbers:
        problems.append("pulse_whatsapp_instances has %d entries that are not a WhatsApp number: list the bot's "
                        "numbers as digits only (6 to 15, country code first, no + or spaces)." % len(bad_numbers))
    ports = _PORTS.match(s["pulse_devtools_ports"])
    if not ports or not 1 <= int(ports.group(1)) <= int(ports.group(2) or ports.group(1)) <= 65535:
        problems.append("pulse_devtools_ports is %s: give a port or a range like 9222-9321."
                        % json.dumps(s["pulse_devtools_ports"]))
    elif int(ports.group(1)) <= s["pulse_port"] <= int(ports.group(2) or ports.group(1)):
        problems.append("pulse_port %d lies in pulse_devtools_ports %s, which the guard keeps from every user "
                        "but pulse: choose another port." % (s["pulse_port"], s["pulse_devtools_ports"]))
    return problems


CHECKS = {"redis": lambda s: _redis_problems(s, s["redis_requirepass"]), "pulse": _pulse_problems}


def role_settings(variables, role):
    """{"settings": the coerced settings without secrets (no_log options), keyed without the role's prefix;
    "problems": [...]}."""
    settings, problems = coerce(variables, role)
    if not problems:
        problems = CHECKS[role](settings)
    prefix = role + "_"
    options = role_options(role)
    public = dict((name[len(prefix):] if name.startswith(prefix) else name, value)
                  for name, value in settings.items() if not options[name].get("no_log"))
    return {"settings": public, "problems": problems}


class FilterModule:
    def filters(self):
        return {"pulse_role_settings": role_settings, "pulse_role_option_names": option_names}
