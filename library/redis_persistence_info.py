#!/usr/bin/python
# -*- coding: utf-8 -*-
# Read-only report: is this Redis keeping its data, and what stands in the way?



DOCUMENTATION = r"""
---
module: redis_persistence_info
short_description: Report whether a Redis server keeps its data on disk, and what is wrong if not
description:
  - Reads C(INFO persistence), C(INFO keyspace) and the persistence settings of
    a running Redis server, inspects its data directory (owner, mode, free space,
    file system) and returns a list of problems found.
  - Saves are judged without starting one. An idle server rightly has an old
    C(LASTSAVE); a save is overdue only when a save rule has been met (enough
    C(rdb_changes_since_last_save) for longer than its seconds) and no save
    followed within 10 s.
  - Changes nothing; always returns C(changed=false).
  - The data directory is inspected only when the module runs on the Redis host
    (unix socket, or a loopback address); otherwise RV(data_dir.checked) is false.
version_added: "1.0.0"
author: pulse-ops
extends_documentation_fragment:
  - pulse_read_only
  - pulse_redis
requirements:
  - redis (Python library; python3-redis on Debian)
options: {}
"""

EXAMPLES = r"""
- name: Read how Redis keeps its data
  redis_persistence_info:
    login_password: "{{ redis_requirepass }}"
  register: persistence

- name: Stop when Redis would lose data
  ansible.builtin.assert:
    that: persistence.problems | length == 0
    fail_msg: "{{ persistence.problems | join('; ') }}"
"""

RETURN = r"""
problems:
  description: What stands between this server and keeping every key; empty when nothing does.
  returned: always
  type: list
  elements: str
  sample: ["save rules are empty and appendonly is off: nothing reaches the disk"]
persistence:
  description: C(INFO persistence) as returned by the server.
  returned: always
  type: dict
  sample: {"loading": 0, "rdb_last_bgsave_status": "ok", "aof_enabled": 1}
config:
  description: The persistence settings in force (C(CONFIG GET)).
  returned: always
  type: dict
  sample: {"save": "900 1 300 10 60 10000", "appendonly": "yes", "dir": "/var/lib/redis"}
key_count:
  description: Number of keys in all databases.
  returned: always
  type: int
  sample: 1042
keyspace:
  description: C(INFO keyspace), per database.
  returned: always
  type: dict
  sample: {"db0": {"keys": 1042, "expires": 1000, "avg_ttl": 0}}
expired_since_start:
  description:
    - Keys that expired since the server started, at load time included (C(expired_keys) +
      C(rdb_last_load_keys_expired)). After a restart, RV(key_count) plus this is at least the count before it.
  returned: always
  type: int
  sample: 3
loading:
  description: Whether the server is still loading its dataset from disk.
  returned: always
  type: bool
  sample: false
lastsave:
  description: Unix time of the last successful save (C(LASTSAVE)).
  returned: always
  type: int
  sample: 1795607741
lastsave_age:
  description: Seconds since the last successful save, on the server's clock.
  returned: always
  type: int
  sample: 12
server:
  description: Version, process id and uptime of the server.
  returned: always
  type: dict
  sample: {"redis_version": "7.0.15", "process_id": 394, "uptime_in_seconds": 3600}
data_dir:
  description: The data directory as seen from the Redis host.
  returned: always
  type: dict
  contains:
    path: {description: The directory (CONFIG GET dir)., type: str, returned: always}
    checked: {description: Whether it could be inspected from where the module runs., type: bool, returned: always}
    exists: {description: Whether it exists., type: bool, returned: when checked}
    owner: {description: Owning user., type: str, returned: when it exists}
    group: {description: Owning group., type: str, returned: when it exists}
    mode: {description: Permissions in octal., type: str, returned: when it exists}
    fstype: {description: File system type (tmpfs loses everything on reboot)., type: str, returned: when it exists}
    free_bytes: {description: Free space for the Redis user., type: int, returned: when it exists}
    writable_by_server:
      description: Whether the Redis process's user may create files there.
      type: bool
      returned: when the server process is visible
  sample: {"path": "/var/lib/redis", "checked": true, "exists": true, "owner": "redis", "group": "redis",
           "mode": "0750", "fstype": "ext4", "free_bytes": 51234567168, "writable_by_server": true}
"""

import grp
import os
import pwd
import stat

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.pulse_redis import (
    CONNECTION_REQUIRED_TOGETHER,
    config_get,
    connect,
    connection_argument_spec,
    lastsave,
    run,
    server_time,
)

SETTINGS = (
    "save", "appendonly", "appendfsync", "dir", "dbfilename", "appenddirname",
    "stop-writes-on-bgsave-error", "rdbchecksum", "maxmemory", "maxmemory-policy",
)
LOOPBACK = ("127.0.0.1", "::1", "localhost")


def process_ids(pid):
    """The (uid, gids) the Redis process runs as, read from /proc on this host."""
    try:
        with open("/proc/%d/status" % pid) as status:
            fields = dict(line.split(":", 1) for line in status if ":" in line)
    except OSError:
        return None
    uid = int(fields["Uid"].split()[1])  # effective uid
    gids = set(int(g) for g in fields.get("Groups", "").split())
    gids.add(int(fields["Gid"].split()[1]))
    return uid, gids


def may_write(st, ids):
    """Whether a process with these ids may create files in a directory with stat st."""
    uid, gids = ids
    if uid == 0:
        return True
    if st.st_uid == uid:
        return bool(st.st_mode & stat.S_IWUSR and st.st_mode & stat.S_IXUSR)
    if st.st_gid in gids:
        return bool(st.st_mode & stat.S_IWGRP and st.st_mode & stat.S_IXGRP)
    return bool(st.st_mode & stat.S_IWOTH and st.st_mode & stat.S_IXOTH)


def fs_type(path):
    """File system type of the mount that holds path (longest matching mount point)."""
    best, kind = "", "unknown"
    try:
        with open("/proc/mounts") as mounts:
            for line in mounts:
                parts = line.split()
                point = parts[1].replace("\\040", " ")
                if (path == point or path.startswith(point.rstrip("/") + "/")) and len(point) >= len(best):
                    best, kind = point, parts[2]
    except OSError:
        pass
    return kind


def name_of(lookup, ident):
    try:
        return lookup(ident)[0]
    except KeyError:
        return str(ident)


def inspect_dir(path, pid):
    report = dict(path=path, checked=True, exists=os.path.isdir(path))
    if not report["exists"]:
        return report
    st = os.stat(path)
    vfs = os.statvfs(path)
    report.update(
        owner=name_of(pwd.getpwuid, st.st_uid),
        group=name_of(grp.getgrgid, st.st_gid),
        mode="%04o" % stat.S_IMODE(st.st_mode),
        fstype=fs_type(os.path.realpath(path)),
        free_bytes=vfs.f_bavail * vfs.f_frsize,
    )
    ids = process_ids(pid) if pid else None
    if ids:
        report["writable_by_server"] = may_write(st, ids)
    return report


# Redis checks its save rules about ten times a second and retries a failed
# save after 5 s: a rule met for longer than this has not been acted on.
SAVE_GRACE = 10


def overdue_save(config, info, lastsave_age):
    """The first save rule that has been met for longer than SAVE_GRACE, as "<seconds> <changes>"; else None.

    An idle Redis rightly has an old LASTSAVE: only changes since it make a save due."""
    if info.get("rdb_bgsave_in_progress"):
        return None
    changes = info.get("rdb_changes_since_last_save", 0)
    numbers = [int(n) for n in config["save"].split()]
    for index in range(0, len(numbers) - 1, 2):
        seconds, needed = numbers[index], numbers[index + 1]
        if changes >= needed and lastsave_age > seconds + SAVE_GRACE:
            return "%d %d" % (seconds, needed)
    return None


def config_problems(config, info, lastsave_age=0):
    """What in the running settings and last save/AOF results loses data."""
    problems = []
    rdb_on = bool(config["save"].strip())
    aof_on = config["appendonly"] == "yes"
    if not rdb_on and not aof_on:
        problems.append("save rules are empty and appendonly is off: nothing reaches the disk, "
                        "every key is lost on restart")
    elif not rdb_on:
        problems.append("save rules are empty: no RDB snapshots are written")
    elif not aof_on:
        problems.append("appendonly is off: writes since the last snapshot are lost on a crash")
    if info.get("rdb_last_bgsave_status") not in (None, "ok"):
        problems.append("the last background save failed (rdb_last_bgsave_status:%s)"
                        % info["rdb_last_bgsave_status"])
        if config["stop-writes-on-bgsave-error"] == "yes":
            problems.append("MISCONF: Redis refuses writes until a background save succeeds")
    rule = overdue_save(config, info, lastsave_age)
    if rule:
        problems.append("a save is overdue: %d changes since the last save %d s ago, and the rule \"%s\" "
                        "should have saved them (read the Redis log for why it did not)"
                        % (info["rdb_changes_since_last_save"], lastsave_age, rule))
    for field, what in (("aof_last_write_status", "AOF write"), ("aof_last_bgrewrite_status", "AOF rewrite")):
        if info.get(field) not in (None, "ok"):
            problems.append("the last %s failed (%s:%s)" % (what, field, info[field]))
    if config["maxmemory-policy"] not in ("noeviction", ""):
        problems.append("maxmemory-policy is %s: Redis may evict sessions when memory is full "
                        "(use noeviction)" % config["maxmemory-policy"])
    if config["rdbchecksum"] == "no":
        problems.append("rdbchecksum is off: a damaged dump.rdb would load without error")
    return problems


def data_dir_problems(data_dir, used_memory):
    """What about the data directory loses data; nothing when it could not be inspected."""
    path = data_dir["path"]
    if not data_dir.get("checked"):
        return []
    if not data_dir["exists"]:
        return ["data directory %s does not exist" % path]
    problems = []
    if data_dir.get("writable_by_server") is False:
        problems.append("data directory %s (%s:%s %s) is not writable by the Redis process's user"
                        % (path, data_dir["owner"], data_dir["group"], data_dir["mode"]))
    if data_dir["fstype"] in ("tmpfs", "ramfs"):
        problems.append("data directory %s is on %s: everything is lost on reboot" % (path, data_dir["fstype"]))
    if data_dir["free_bytes"] < used_memory:
        problems.append("data directory %s has %d bytes free, less than the %d bytes in memory: "
                        "the next save may fail" % (path, data_dir["free_bytes"], used_memory))
    return problems


def main():
    module = AnsibleModule(
        argument_spec=connection_argument_spec(),
        required_together=CONNECTION_REQUIRED_TOGETHER,
        supports_check_mode=True,
    )
    client = connect(module, "read persistence")
    info = run(module, "read INFO persistence", client.info, "persistence")
    server = run(module, "read INFO server", client.info, "server")
    memory = run(module, "read INFO memory", client.info, "memory")
    keyspace = run(module, "read INFO keyspace", client.info, "keyspace")
    stats = run(module, "read INFO stats", client.info, "stats")
    config = dict((name, config_get(module, client, name)) for name in SETTINGS)
    lastsave_epoch = run(module, "read LASTSAVE", lastsave, client)
    now = run(module, "read TIME", server_time, client)

    params = module.params
    local = bool(params.get("login_unix_socket")) or params["login_host"] in LOOPBACK
    if local:
        data_dir = inspect_dir(config["dir"], server.get("process_id"))
    else:
        data_dir = dict(path=config["dir"], checked=False)

    keyspace = dict((db, stats) for db, stats in keyspace.items() if isinstance(stats, dict))
    module.exit_json(
        changed=False,
        problems=(config_problems(config, info, max(0, int(now) - lastsave_epoch))
                  + data_dir_problems(data_dir, memory.get("used_memory", 0))),
        persistence=info,
        config=config,
        key_count=sum(stats.get("keys", 0) for stats in keyspace.values()),
        keyspace=keyspace,
        expired_since_start=stats.get("expired_keys", 0) + info.get("rdb_last_load_keys_expired", 0),
        loading=bool(info.get("loading")),
        lastsave=lastsave_epoch,
        lastsave_age=max(0, int(now) - lastsave_epoch),
        server=dict(
            redis_version=server.get("redis_version"),
            process_id=server.get("process_id"),
            uptime_in_seconds=server.get("uptime_in_seconds"),
        ),
        data_dir=data_dir,
    )


if __name__ == "__main__":
    main()
