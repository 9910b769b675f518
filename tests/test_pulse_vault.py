"""lookup_plugins/pulse_vault.py: a vault read with Ansible's own library, and why one does not open."""

import json
import subprocess
import sys

from conftest import ROOT

# The plugin is controller code: importing it here would put this test process in Ansible's controller mode,
# where modules' warnings no longer reach their results (other tests assert them). Run it in a process of its own.
READ = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("pulse_vault", sys.argv[1])
plugin = importlib.util.module_from_spec(spec)
spec.loader.exec_module(plugin)
print(json.dumps(plugin.read_vault(*sys.argv[2:])))
"""


class pulse_vault:  # noqa: N801 - reads as the plugin's own function below
    @staticmethod
    def read_vault(path, vault_id, password_file):
        result = subprocess.run([sys.executable, "-c", READ, str(ROOT / "lookup_plugins" / "pulse_vault.py"), path,
                                 vault_id, password_file], capture_output=True, text=True, check=True)
        return tuple(json.loads(result.stdout))


def encrypt(tmp_path, text):
    secret = tmp_path / "id.pass"
    secret.write_text("right-password-0123\n")
    path = tmp_path / "vault.yml"
    subprocess.run([str(ROOT / ".venv/bin/ansible-vault"), "encrypt", "--vault-id", "t@%s" % secret,
                    "--encrypt-vault-id", "t", "--output", str(path), "-"], input=text, text=True, check=True,
                   capture_output=True)
    return path, secret


def test_a_vault_reads_as_its_mapping_and_an_absent_one_as_empty(tmp_path):
    path, secret = encrypt(tmp_path, "a: '1'\nb: two\n")
    assert pulse_vault.read_vault(str(path), "t", str(secret)) == ({"a": "1", "b": "two"}, None)
    assert pulse_vault.read_vault(str(tmp_path / "none.yml"), "t", str(secret)) == ({}, None)


def test_each_reason_a_vault_does_not_open_is_named_without_a_value(tmp_path):
    path, secret = encrypt(tmp_path, "a: value-never-shown\n")
    wrong = tmp_path / "wrong.pass"
    wrong.write_text("another-password\n")
    data, problem = pulse_vault.read_vault(str(path), "t", str(wrong))
    assert data is None and problem == ("%s exists but does not open with the password file of vault id t. Nothing "
                                        "was changed. Use the password file this vault was made with." % path)
    assert pulse_vault.read_vault(str(path), "t", str(tmp_path / "gone.pass"))[1] == \
        "The vault password file %s does not exist." % (tmp_path / "gone.pass")
    plain = tmp_path / "plain.yml"
    plain.write_text("a: value-never-shown\n")
    assert pulse_vault.read_vault(str(plain), "t", str(secret))[1] == (
        "%s is not an ansible-vault file; encrypt it with ansible-vault encrypt. Nothing was changed." % plain)
    listing, secret = encrypt(tmp_path, "- value-never-shown\n")
    assert pulse_vault.read_vault(str(listing), "t", str(secret))[1] == (
        "%s does not hold a YAML mapping of variables; fix it with ansible-vault edit. Nothing was changed."
        % listing)
