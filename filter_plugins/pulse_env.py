# Pulse's env file (/etc/pulse/pulse.env), read by systemd's EnvironmentFile=
# and by dotenv (`pulse sessions`, through Pulse's own ConfigModule): one way
# to write it and one way to read it back, as Jinja filters. Messages name settings, never values.

import re

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Both readers agree on "NAME=<value in double quotes>" only while the value
# holds no double quote, backslash or line break.
_FORBIDDEN = re.compile(r'["\\\r\n]')
_LINE = re.compile(r'^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$')


def _text(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(_text(item) for item in value)
    return str(value)


def env_problems(settings):
    """Names of settings that cannot be written as they are (bad name, or a value with forbidden characters)."""
    return [name for name, value in settings.items()
            if not _NAME.match(str(name)) or _FORBIDDEN.search(_text(value))]


def env_settings(settings):
    """The settings as Pulse gets them: text values, the empty ones left out.

    Pulse's validation refuses a declared setting set to an empty value
    ("FLASH_API_URL" is not allowed to be empty), and to Pulse an unset setting
    means what an empty one was meant to."""
    return dict((name, _text(value)) for name, value in settings.items() if _text(value) != "")


def env_file(settings):
    """The env file's lines, NAME="value", in the order given, empty settings left out
    (env_settings); refuses what env_problems names."""
    bad = env_problems(settings)
    if bad:
        raise ValueError("cannot write %s to the env file: a bad name, or a double quote, backslash or line "
                         "break in the value" % ", ".join(bad))
    return "".join('%s="%s"\n' % item for item in env_settings(settings).items())


def env_parse(text):
    """Settings read back from an env file (NAME=value, NAME="value" or NAME='value'; comments skipped)."""
    settings = {}
    for line in (text or "").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _LINE.match(line)
        if match:
            name, value = match.groups()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            settings[name] = value
    return settings


class FilterModule(object):
    def filters(self):
        return {
            "pulse_env_problems": env_problems,
            "pulse_env_file": env_file,
            "pulse_env_settings": env_settings,
            "pulse_env_parse": env_parse,
        }
