"""Read an ansible-vault file with Ansible's own vault library.

Never the printed output of `ansible-vault view`, which changes with ANSIBLE_*
settings (verbosity, colour) and is then no longer the file's content.
"""

DOCUMENTATION = r"""
name: pulse_vault
author: pulse-ops
short_description: Read a vault file with a password file, as a mapping (or say why it does not open)
description:
  - Decrypts each given vault file with the password file of one vault id, with
    Ansible's own vault library, and returns its YAML content.
  - An absent file reads as an empty mapping.
  - With O(check=true) it returns, instead of the content, an empty string when
    the file opens and holds a mapping, or a message naming the file and the
    vault id (never a value) when it does not. Use that in a task without
    C(no_log), and the content only in a task with C(no_log).
options:
  _terms:
    description: Vault files.
    required: true
  vault_id:
    description: The vault id whose password file is given.
    type: str
    required: true
  password_file:
    description: The file holding that vault id's password (or a script printing it).
    type: path
    required: true
  check:
    description: Return an error message (or an empty string) instead of the content.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Stop when the vault does not open
  ansible.builtin.assert:
    that: __problem | length == 0
    fail_msg: "{{ __problem }}"
  vars:
    __problem: "{{ lookup('pulse_vault', 'vault.yml', vault_id='prod', password_file='prod.pass', check=true) }}"
"""

RETURN = r"""
_raw:
  description: The mapping each file holds (or, with O(check), a message or an empty string).
  type: list
  elements: raw
"""

import os

import yaml
from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.parsing.dataloader import DataLoader
from ansible.parsing.vault import AnsibleVaultError, VaultLib, get_file_vault_secret
from ansible.plugins.lookup import LookupBase


def why_not_decrypted(error, path, vault_id):
    """The operator's message for a vault that did not decrypt (names the file and the id, never a value)."""
    text = to_text(error).lower()
    if "no vault secrets" in text or "decryption failed" in text:
        return ("%s exists but does not open with the password file of vault id %s. Nothing was changed. "
                "Use the password file this vault was made with." % (path, vault_id))
    if "not vault encrypted" in text or "not a vault" in text:
        return "%s is not an ansible-vault file; encrypt it with ansible-vault encrypt. Nothing was changed." % path
    return "%s could not be decrypted with vault id %s. Nothing was changed." % (path, vault_id)


def read_vault(path, vault_id, password_file):
    """(mapping, None) when the file opens and holds a mapping; (None, message) otherwise."""
    if not os.path.exists(path):
        return {}, None
    if not os.path.exists(password_file):
        return None, "The vault password file %s does not exist." % password_file
    try:
        secret = get_file_vault_secret(filename=password_file, vault_id=vault_id, loader=DataLoader())
        secret.load()
        with open(path, "rb") as handle:
            plaintext = VaultLib([(vault_id, secret)]).decrypt(handle.read())
    except (AnsibleVaultError, AnsibleError) as error:
        return None, why_not_decrypted(error, path, vault_id)
    try:
        data = yaml.safe_load(to_text(plaintext)) or {}
    except yaml.YAMLError:
        data = None
    if not isinstance(data, dict):
        return None, ("%s does not hold a YAML mapping of variables; fix it with ansible-vault edit. Nothing was "
                      "changed." % path)
    return data, None


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        vault_id, password_file = self.get_option("vault_id"), self.get_option("password_file")
        results = []
        for term in terms:
            data, problem = read_vault(term, vault_id, password_file)
            if self.get_option("check"):
                results.append(problem or "")
            elif problem:
                raise AnsibleError(problem)
            else:
                results.append(data)
        return results
