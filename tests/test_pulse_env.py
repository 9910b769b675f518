"""filter_plugins/pulse_env.py: writing and reading back Pulse's env file."""

import importlib.util

import pytest
from conftest import ROOT

_spec = importlib.util.spec_from_file_location("pulse_env", ROOT / "filter_plugins" / "pulse_env.py")
pulse_env = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pulse_env)


def test_values_are_written_quoted_in_order_and_read_back_the_same():
    settings = {"NODE_ENV": "production", "PORT": 3000, "ADMIN_PHONE_NUMBERS": ["18760000001", "18760000002"],
                "FLAG": True, "URL": "amqp://u:p@h:5672/?a=b&c=$d #x"}
    text = pulse_env.env_file(settings)
    assert text == ('NODE_ENV="production"\nPORT="3000"\nADMIN_PHONE_NUMBERS="18760000001,18760000002"\n'
                    'FLAG="true"\nURL="amqp://u:p@h:5672/?a=b&c=$d #x"\n')
    assert pulse_env.env_parse(text) == {name: pulse_env._text(value) for name, value in settings.items()}


def test_empty_settings_are_left_out_since_pulse_refuses_them():
    """Pulse's validation stops it on `FLASH_API_URL=` ("is not allowed to be empty"); unset means the same."""
    settings = {"NODE_ENV": "production", "FLASH_API_URL": "", "ADMIN_PHONE_NUMBERS": [], "ELEVENLABS_API_KEY": None,
                "REDIS_DB": 0}
    assert pulse_env.env_settings(settings) == {"NODE_ENV": "production", "REDIS_DB": "0"}
    assert pulse_env.env_file(settings) == 'NODE_ENV="production"\nREDIS_DB="0"\n'


@pytest.mark.parametrize("value", ['a"b', "a\\b", "a\nb", "a\rb"])
def test_a_value_both_readers_would_read_differently_is_named_and_refused(value):
    settings = {"GOOD": "x", "FLASH_API_KEY": value}
    assert pulse_env.env_problems(settings) == ["FLASH_API_KEY"]
    with pytest.raises(ValueError) as error:
        pulse_env.env_file(settings)
    assert str(error.value) == ("cannot write FLASH_API_KEY to the env file: a bad name, or a double quote, "
                                "backslash or line break in the value")
    assert value not in str(error.value)


def test_a_bad_name_is_refused():
    assert pulse_env.env_problems({"1BAD": "x", "with space": "y", "OK_1": "z"}) == ["1BAD", "with space"]


def test_parse_reads_upstream_style_files_and_skips_comments():
    text = "# comment\n\nexport A=1\nB = 'two words'\nC=\"three\"\nD=\nnot a setting\n"
    assert pulse_env.env_parse(text) == {"A": "1", "B": "two words", "C": "three", "D": ""}
