"""lookup_plugins/pulse_vault.py: a vault read with Ansible's own library, and why one does not open."""

import subprocess

from conftest import ROOT, call_plugin


def read_vault(path, vault_id, password_file):
    return tuple(call_plugin("lookup_plugins/pulse_vault.py", "read_vault", path, vault_id, password_file))


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
    assert read_vault(str(path), "t", str(secret)) == ({"a": "1", "b": "two"}, None)
    assert read_vault(str(tmp_path / "none.yml"), "t", str(secret)) == ({}, None)


def test_each_reason_a_vault_does_not_open_is_named_without_a_value(tmp_path):
    path, secret = encrypt(tmp_path, "a: value-never-shown\n")
    wrong = tmp_path / "wrong.pass"
    wrong.write_text("another-password\n")
    data, problem = read_vault(str(path), "t", str(wrong))
    assert data is None and problem == ("%s exists but does not open with the password file of vault id t. Nothing "
                                        "was changed. Use the password file this vault was made with." % path)
    assert read_vault(str(path), "t", str(tmp_path / "gone.pass"))[1] == \
        "The vault password file %s does not exist." % (tmp_path / "gone.pass")
    plain = tmp_path / "plain.yml"
    plain.write_text("a: value-never-shown\n")
    assert read_vault(str(plain), "t", str(secret))[1] == (
        "%s is not an ansible-vault file; encrypt it with ansible-vault encrypt. Nothing was changed." % plain)
    listing, secret = encrypt(tmp_path, "- value-never-shown\n")
    assert read_vault(str(listing), "t", str(secret))[1] == (
        "%s does not hold a YAML mapping of variables; fix it with ansible-vault edit. Nothing was changed."
        % listing)
