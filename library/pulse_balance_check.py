#!/usr/bin/python
# -*- coding: utf-8 -*-
# Read-only: do users whose sessions open get their balance from the running app?

DOCUMENTATION = r"""
---
module: pulse_balance_check
short_description: Ask the app for the balance of a sample of the users whose sessions open
description:
  - Opens sessions (C(SCAN), C(MGET)) with the key derived from C(ENCRYPTION_KEY) and
    C(ENCRYPTION_SALT) until it has O(sample_size) users, then asks the app
    C(GET <url>/balance?whatsappId=<id>) for each, as a user's "balance" would.
  - For an app that offers that endpoint (the test stand-in does; real Pulse answers users over
    WhatsApp). Used after a takeover, to prove users still get answers.
  - The users' IDs never leave the host; it returns counts only. Changes nothing; always
    returns C(changed=false).
version_added: "1.0.0"
author: pulse-ops
extends_documentation_fragment:
  - pulse_redis
requirements:
  - redis (python3-redis on Debian)
  - cryptography (python3-cryptography on Debian)
attributes:
  check_mode:
    support: full
    description: Runs the same in check mode; it only reads.
  diff_mode:
    support: none
options:
  encryption_key:
    description: Pulse's C(ENCRYPTION_KEY), used as given. Never shown.
    type: str
    required: true
  encryption_salt:
    description: Pulse's C(ENCRYPTION_SALT). Never shown.
    type: str
    required: true
  url:
    description: Base URL of the app on the host.
    type: str
    default: http://127.0.0.1:3000
  sample_size:
    description: How many users to ask for.
    type: int
    default: 20
"""

EXAMPLES = r"""
- name: A sample of users get their balance
  pulse_balance_check:
    login_password: "{{ redis_requirepass }}"
    encryption_key: "{{ pulse_encryption_key }}"
    encryption_salt: "{{ pulse_encryption_salt }}"
  register: balance
  failed_when: balance.answered < balance.sampled
"""

RETURN = r"""
sampled:
  description: How many users were asked for (fewer than O(sample_size) when fewer sessions open).
  returned: always
  type: int
  sample: 20
answered:
  description: How many got HTTP 200.
  returned: always
  type: int
  sample: 20
statuses:
  description: The count of each HTTP status the app answered (0 when it did not answer).
  returned: always
  type: dict
  sample: {"200": 20}
"""

import json

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.pulse_redis import CONNECTION_REQUIRED_TOGETHER, connect, connection_argument_spec, run
from ansible.module_utils.pulse_sessions import Keys, ensure_crypto_library, walk_sessions
from ansible.module_utils.six.moves.urllib.parse import quote
from ansible.module_utils.urls import open_url

try:
    from urllib.error import HTTPError, URLError
except ImportError:  # Python 2 is not supported by these modules
    HTTPError = URLError = Exception


def sample_users(client, keys, size):
    """WhatsApp IDs of up to size users whose sessions open (kept in memory, never returned)."""
    users = []
    for _session_id, session in walk_sessions(client, keys):
        if isinstance(session, dict) and session.get("whatsappId"):
            users.append(session["whatsappId"])
            if len(users) >= size:
                break
    return users


def ask(url, whatsapp_id):
    try:
        response = open_url(url + "/balance?whatsappId=" + quote(whatsapp_id), timeout=10)
        json.loads(response.read() or b"{}")
        return response.getcode()
    except HTTPError as error:
        return error.code
    except (URLError, OSError, ValueError):
        return 0


def main():
    module = AnsibleModule(
        argument_spec=connection_argument_spec(
            encryption_key=dict(type="str", required=True, no_log=True),
            encryption_salt=dict(type="str", required=True, no_log=True),
            url=dict(type="str", default="http://127.0.0.1:3000"),
            sample_size=dict(type="int", default=20),
        ),
        required_together=CONNECTION_REQUIRED_TOGETHER,
        supports_check_mode=True,
    )
    ensure_crypto_library(module)
    if module.params["sample_size"] < 1:
        module.fail_json(msg="invalid sample_size %d: give at least 1" % module.params["sample_size"])
    client = connect(module, "read Pulse's sessions")
    users = run(module, "read Pulse's sessions", sample_users, client, Keys(module.params),
                module.params["sample_size"])
    statuses = {}
    for whatsapp_id in users:
        status = str(ask(module.params["url"].rstrip("/"), whatsapp_id))
        statuses[status] = statuses.get(status, 0) + 1
    module.exit_json(changed=False, sampled=len(users), answered=statuses.get("200", 0), statuses=statuses)


if __name__ == "__main__":
    main()
