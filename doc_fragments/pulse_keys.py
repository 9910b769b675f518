# Documentation of Pulse's key options, shared by the modules that read or
# write sessions (module_utils/pulse_sessions.py defines them once).


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  encryption_key:
    description:
      - Pulse's C(ENCRYPTION_KEY), used as given (a hex string is not decoded). Never shown.
    type: str
    required: true
  encryption_salt:
    description: Pulse's C(ENCRYPTION_SALT). Never shown.
    type: str
    required: true
  hash_salt:
    description: Pulse's C(HASH_SALT), which indexes sessions by WhatsApp ID. Never shown.
    type: str
    required: true
"""
