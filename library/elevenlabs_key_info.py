#!/usr/bin/python
# -*- coding: utf-8 -*-
# Read-only: does the ElevenLabs API accept Pulse's ELEVENLABS_API_KEY?

DOCUMENTATION = r"""
---
module: elevenlabs_key_info
short_description: Check Pulse's ElevenLabs API key against the ElevenLabs API
description:
  - Asks the ElevenLabs API for the key's user (C(GET /v1/user) with the C(xi-api-key) header)
    and reports V(valid), V(invalid) (the API refused the key, HTTP 401), V(unreachable) (no
    answer about the key - network error, timeout, or an HTTP error other than 401) or
    V(unset) (the key is empty, so Pulse does not use ElevenLabs).
  - Pulse picks ElevenLabs whenever the key is non-empty, even a wrong one, and every voice
    reply then fails with HTTP 401. An empty key makes it fall back to Google Cloud TTS or
    the free API.
  - A key without the C(user_read) permission is accepted by the API for speech but refused
    for C(/v1/user) with status C(missing_permissions); it is reported V(valid), with that said.
  - Runs from the host it is given to, so it also proves that host can reach the API.
  - Changes nothing; always returns C(changed=false). The key never appears in results.
version_added: "1.0.0"
author: pulse-ops
extends_documentation_fragment:
  - pulse_read_only
options:
  api_key:
    description: Pulse's C(ELEVENLABS_API_KEY). Empty or unset means ElevenLabs is off. Never shown.
    type: str
    default: ""
  api_url:
    description: Base URL of the ElevenLabs API (a test server, a proxy, a regional endpoint).
    type: str
    default: https://api.elevenlabs.io
  timeout:
    description: Seconds to wait for the API's answer.
    type: int
    default: 10
  validate_certs:
    description: Verify the API's TLS certificate.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Check the ElevenLabs key Pulse would use
  elevenlabs_key_info:
    api_key: "{{ pulse_elevenlabs_api_key }}"
  register: elevenlabs

- name: Stop on a key the API refuses
  ansible.builtin.assert:
    that: elevenlabs.state != 'invalid'
    fail_msg: "{{ elevenlabs.msg }}"
"""

RETURN = r"""
state:
  description: V(valid), V(invalid), V(unreachable) or V(unset).
  returned: always
  type: str
  sample: valid
status:
  description: The API's HTTP status; null when there was no answer, or no key to check.
  returned: always
  type: int
  sample: 200
msg:
  description: The state in plain words, with the cause and what to do.
  returned: always
  type: str
  sample: "ElevenLabs accepts the key (tier free, 1200 of 10000 characters used)"
subscription:
  description: With a valid key, the tier and the characters used and allowed, when the API gives them.
  returned: always
  type: dict
  sample: {tier: free, character_count: 1200, character_limit: 10000}
"""

import json

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import fetch_url


def answer_detail(body):
    """The API's error status ('invalid_api_key', 'missing_permissions', ...) from a JSON body, or ''."""
    try:
        detail = json.loads(body or "{}").get("detail")
    except (ValueError, AttributeError):
        return ""
    return detail.get("status", "") if isinstance(detail, dict) else ""


def check(module):
    params = module.params
    url = params["api_url"].rstrip("/") + "/v1/user"
    response, info = fetch_url(module, url, headers={"xi-api-key": params["api_key"], "Accept": "application/json"},
                               method="GET", timeout=params["timeout"])
    status = info.get("status", -1)
    if status == 200:
        try:
            user = json.loads(response.read())
        except ValueError:
            user = {}
        plan = user.get("subscription") if isinstance(user, dict) else None
        plan = plan if isinstance(plan, dict) else {}
        subscription = dict((name, plan.get(name)) for name in ("tier", "character_count", "character_limit"))
        usage = ""
        if subscription["character_limit"] is not None:
            usage = " (tier %s, %s of %s characters used)" % (
                subscription["tier"], subscription["character_count"], subscription["character_limit"])
        return dict(state="valid", status=200, subscription=subscription, msg="ElevenLabs accepts the key%s" % usage)
    body = info.get("body", b"")
    body = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")
    if status == 401 and answer_detail(body) == "missing_permissions":
        return dict(state="valid", status=401, subscription={}, msg=(
            "ElevenLabs knows the key, which lacks the user_read permission (speech may still work; give the "
            "key user_read to let this check read its quota)"))
    if status == 401:
        return dict(state="invalid", status=401, subscription={}, msg=(
            "ElevenLabs refuses the key (HTTP 401%s): Pulse would use ElevenLabs and every voice reply would fail. "
            "Put a valid ELEVENLABS_API_KEY in the vault, or set pulse_elevenlabs_policy=disable to fall back to "
            "Google Cloud TTS or the free API" % (", " + answer_detail(body) if answer_detail(body) else "")))
    if status < 0:
        return dict(state="unreachable", status=None, subscription={}, msg=(
            "cannot reach ElevenLabs at %s: %s (is outbound HTTPS allowed from this host? the key itself was "
            "not checked)" % (params["api_url"], info.get("msg", "no answer"))))
    return dict(state="unreachable", status=status, subscription={}, msg=(
        "ElevenLabs at %s answered HTTP %s, which says nothing about the key (the key itself was not checked; "
        "try again later)" % (params["api_url"], status)))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            api_key=dict(type="str", default="", no_log=True),
            api_url=dict(type="str", default="https://api.elevenlabs.io"),
            timeout=dict(type="int", default=10),
            validate_certs=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    if not module.params["api_url"].startswith(("https://", "http://")):
        module.fail_json(msg="invalid api_url %r: give an http:// or https:// URL, such as the default "
                             "https://api.elevenlabs.io" % module.params["api_url"])
    if module.params["timeout"] < 1:
        module.fail_json(msg="invalid timeout %d: give at least 1 second" % module.params["timeout"])
    if not (module.params["api_key"] or "").strip():
        module.exit_json(changed=False, state="unset", status=None, subscription={},
                         msg="no ElevenLabs key: Pulse uses Google Cloud TTS when GOOGLE_CLOUD_KEYFILE is set, "
                             "else the free TTS API")
    module.exit_json(changed=False, **check(module))


if __name__ == "__main__":
    main()
