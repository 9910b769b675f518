# Documentation of the attributes every read-only pulse-ops module shares.


class ModuleDocFragment:
    DOCUMENTATION = r"""
attributes:
  check_mode:
    support: full
    description: Runs the same in check mode; it only reads.
  diff_mode:
    support: none
"""
