"""playbooks/verify.yml's judgement of whether the restart proof is due.

What Redis and Pulse restart for is a handful of files and the current-release
link. Each is reduced to an identity (a file's SHA-256, a link's target, or
"absent"); the proof is due when any identity differs from the one the last
passed proof recorded on the host."""


def file_identities(stat_results):
    """{path: identity} from the results of a looped ansible.builtin.stat (get_checksum, sha256)."""
    identities = {}
    for result in stat_results:
        stat = result["stat"]
        if not stat.get("exists"):
            identity = "absent"
        elif stat.get("islnk"):
            identity = "link:%s" % stat["lnk_source"]
        else:
            identity = "sha256:%s" % stat.get("checksum", "")
        identities[result["item"]] = identity
    return identities


def changed_inputs(identities, recorded):
    """The file names (not paths) whose identity differs from the record, in a stable order."""
    recorded = recorded or {}
    return [path.rstrip("/").rsplit("/", 1)[-1] for path in sorted(identities)
            if identities[path] != recorded.get(path)]


class FilterModule:
    def filters(self):
        return {"pulse_file_identities": file_identities, "pulse_changed_inputs": changed_inputs}
