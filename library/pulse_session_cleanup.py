#!/usr/bin/python
# -*- coding: utf-8 -*-
# Remove the sessions that cannot be opened (and the mappings that lead nowhere),
# backed up first; or reset every session; or put a backup back.

DOCUMENTATION = r"""
---
module: pulse_session_cleanup
short_description: Remove Pulse sessions that no longer open, with a backup and a way back
description:
  - O(state=clean) walks the keyspace with C(SCAN) and C(MGET) in batches (never C(KEYS)),
    opens every C(session:*) with the key derived from C(ENCRYPTION_KEY) and C(ENCRYPTION_SALT),
    and classes each one C(ok), C(unopenable) (sealed with other keys) or C(malformed) (not a
    Pulse encrypted value, or not a string). Then it classes every C(whatsapp:*) mapping
    C(ok) or C(orphaned) (its session is missing, unopenable or malformed).
    Only unopenable and malformed sessions and orphaned mappings are removed; a session that
    opens, and every mapping that leads to one, are never touched.
  - O(state=reset) removes every C(session:*) and C(whatsapp:*) key, as the guide's
    C(--force) cleanup does. Every user must link again.
  - O(include_cache=true) also removes every C(cache:*) key (Pulse rebuilds its cache).
  - Before it deletes a batch, the module saves the batch's keys with C(DUMP) and their
    expiry to a backup file on the host (mode 0600, in a directory created 0700), and syncs
    it to disk. O(state=restored) puts a backup back with C(RESTORE), leaving alone any key
    that exists again and any whose expiry has passed.
  - A key is deleted only if it still holds the value the audit read (and, for a mapping,
    only while its session is still absent), in one atomic script per batch, so a session that
    Pulse rewrites during the run is left alone.
  - It walks the keyspace twice, since a mapping can only be judged once every session has been,
    so first the sessions, then the mappings and the cache. Each walk is a pipeline of reading
    threads on their own connections (the next C(SCAN) step, the reads of the step before), so
    that Redis works while the module decrypts. Memory holds a few batches at a time, whatever
    the number of sessions. A check mode preview also keeps the ids of the sessions it would
    remove (up to 100000), so that the mapping walk knows them without opening sessions again;
    beyond that, it opens them again.
  - Never returns a session's content or a key; example key names are only given for the
    classes that are removed.
version_added: "1.0.0"
author: pulse-ops
extends_documentation_fragment:
  - pulse_redis
requirements:
  - redis (python3-redis on Debian; python3-hiredis makes the bulk reads faster)
  - cryptography (python3-cryptography on Debian)
attributes:
  check_mode:
    support: full
    description: The preview, the same audit, counts and examples, and the C(changed) a real run
      would report, without deleting, writing a backup or restoring.
  diff_mode:
    support: none
options:
  state:
    description:
      - V(clean) removes what cannot be opened; V(reset) removes every session and mapping;
        V(restored) puts the keys from O(backup_file) back.
    type: str
    choices: [clean, reset, restored]
    default: clean
  encryption_key:
    description: Pulse's C(ENCRYPTION_KEY), used as given. Required for O(state=clean). Never shown.
    type: str
  encryption_salt:
    description: Pulse's C(ENCRYPTION_SALT). Required for O(state=clean). Never shown.
    type: str
  include_cache:
    description: Also remove every C(cache:*) key (with O(state=clean) or O(state=reset)).
    type: bool
    default: false
  backup_dir:
    description: Where the backup file of removed keys is written, on the Redis client's host.
    type: path
    default: /var/backups/pulse-ops
  backup_file:
    description: The backup to put back, as returned by an earlier run. Required for O(state=restored).
    type: path
  batch_size:
    description: Keys asked of C(SCAN) per step, and the size of each read, backup and delete.
    type: int
    default: 2000
  examples:
    description: How many key names to return per removed class.
    type: int
    default: 5
"""

EXAMPLES = r"""
- name: Preview the cleanup (counts and examples, nothing deleted)
  pulse_session_cleanup:
    login_password: "{{ redis_requirepass }}"
    encryption_key: "{{ pulse_encryption_key }}"
    encryption_salt: "{{ pulse_encryption_salt }}"
  check_mode: true
  register: preview

- name: Remove what cannot be opened, saving it first
  pulse_session_cleanup:
    login_password: "{{ redis_requirepass }}"
    encryption_key: "{{ pulse_encryption_key }}"
    encryption_salt: "{{ pulse_encryption_salt }}"
  register: cleanup

- name: Put it back
  pulse_session_cleanup:
    login_password: "{{ redis_requirepass }}"
    state: restored
    backup_file: "{{ cleanup.backup_file }}"
"""

RETURN = r"""
counts:
  description:
    - What the audit found. With O(state=reset) sessions and mappings are not opened, so
      the per-class counts are null.
    - With O(state=restored), null.
  returned: always
  type: dict
  sample: {sessions: 1052, sessions_ok: 1000, sessions_unopenable: 40, sessions_malformed: 12,
           mappings: 1100, mappings_ok: 1000, mappings_orphaned: 100, cache_keys: 7}
removed:
  description: Keys removed per family (in check mode, those a real run would remove).
  returned: always
  type: dict
  sample: {sessions: 52, mappings: 100, cache: 0}
deleted:
  description: Keys removed in all (in check mode, that a real run would remove).
  returned: always
  type: int
  sample: 152
left_changed:
  description: Condemned keys left alone because they changed (or vanished) between the audit and the delete.
  returned: always
  type: int
  sample: 0
examples:
  description: A few names of the keys removed, per class (unopenable, malformed, orphaned, cache, reset).
  returned: always
  type: dict
  sample: {unopenable: ["session:9b1f0c2d3e4f5a6b7c8d9e0f1a2b3c4d"], orphaned: ["whatsapp:77ab..."]}
backup_file:
  description: The backup of what was removed; null when nothing was (and always in check mode).
  returned: always
  type: str
  sample: /var/backups/pulse-ops/pulse-sessions-clean-20261125T171501Z.jsonl
restored:
  description: With O(state=restored), the keys put back (in check mode, that would be).
  returned: always
  type: int
  sample: 152
restore_skipped:
  description: With O(state=restored), keys left alone because they exist again, or expired since.
  returned: always
  type: dict
  sample: {exists: 0, expired: 3}
"""

import base64
import datetime
import json
import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.module_utils.pulse_redis import (
    CONNECTION_REQUIRED_TOGETHER,
    connect,
    connection_argument_spec,
    run,
)
from ansible.module_utils.pulse_sessions import (
    CACHE_PREFIX,
    INDEX_PREFIX,
    MALFORMED,
    OK,
    SESSION_PREFIX,
    UNOPENABLE,
    Keys,
    ensure_crypto_library,
    prefetched,
    scan_batches,
)

try:
    from redis.exceptions import ResponseError
except ImportError:  # connect() reports the missing library
    ResponseError = Exception

BACKUP_FORMAT = "pulse-ops-redis-dump/1"
# Of KEYS, the positions (from 1) of the keys that do not exist. Asked only for a batch of
# mappings' sessions that a single EXISTS already counted short.
ABSENT = """
local absent = {}
for i, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 0 then
    absent[#absent + 1] = i
  end
end
return absent
"""
# In check mode, how many condemned session ids the mapping walk may look up in memory.
BAD_IDS_KEPT = 100000

# Deletes each key of KEYS only if it still holds what the audit read. ARGV[1] is '1' when a
# key may go only while 'session:' .. its value is absent (an orphaned mapping). ARGV[i + 1]
# is 's' .. the string value read, or 't' for a key that was not a string.
DELETE_UNCHANGED = """
local deleted = 0
for i, key in ipairs(KEYS) do
  local read = ARGV[i + 1]
  local kind = redis.call('TYPE', key)['ok']
  local keep = true
  if kind == 'string' then
    local value = redis.call('GET', key)
    if read == 's' .. value then
      keep = ARGV[1] == '1' and redis.call('EXISTS', 'session:' .. value) == 1
    end
  elseif kind ~= 'none' then
    keep = read ~= 't'
  end
  if not keep then
    deleted = deleted + redis.call('DEL', key)
  end
end
return deleted
"""


class Backup:
    """The file of removed keys: a header line, then one JSON line per key (DUMP and expiry).

    Created on the first batch only, so a run that removes nothing leaves no file.
    """

    def __init__(self, module, directory, state):
        self.module = module
        self.directory = directory
        self.state = state
        self.path = None
        self.handle = None

    def _open(self):
        if not os.path.isdir(self.directory):
            os.makedirs(self.directory, mode=0o700)
            os.chmod(self.directory, 0o700)
        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
        for attempt in range(100):
            name = "pulse-sessions-%s-%s%s.jsonl" % (self.state, stamp, "-%d" % attempt if attempt else "")
            path = os.path.join(self.directory, name)
            try:
                descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                continue
            self.path = path
            self.handle = os.fdopen(descriptor, "w")
            self.handle.write(json.dumps({"format": BACKUP_FORMAT, "state": self.state, "created": stamp}) + "\n")
            return
        self.module.fail_json(msg="cannot create a backup file in %s: 100 files of this second already exist"
                                  % self.directory)

    def save(self, client, keys):
        """DUMP keys with their expiry, append them, sync the file; return the keys that still existed."""
        if self.handle is None:
            try:
                self._open()
            except OSError as error:
                self.module.fail_json(msg="cannot write the backup in %s before deleting: %s (nothing was deleted "
                                          "from this batch on; choose a writable backup_dir)"
                                          % (self.directory, error.strerror))
        pipe = client.pipeline(transaction=False)
        pipe.time()
        for key in keys:
            pipe.dump(key)
            pipe.pttl(key)
        replies = run(self.module, "save the keys to remove", pipe.execute)
        seconds, micros = replies[0]
        now_ms = seconds * 1000 + micros // 1000
        saved = []
        lines = []
        for index, key in enumerate(keys):
            payload, pttl = replies[1 + 2 * index], replies[2 + 2 * index]
            if payload is None or pttl == -2:  # gone meanwhile: nothing to save or delete
                continue
            lines.append(json.dumps({
                "key": base64.b64encode(to_bytes(key)).decode("ascii"),
                "expire_at_ms": now_ms + pttl if pttl >= 0 else -1,
                "dump": base64.b64encode(payload).decode("ascii"),
            }))
            saved.append(key)
        try:
            self.handle.write("".join(line + "\n" for line in lines))
            self.handle.flush()
            os.fsync(self.handle.fileno())
        except OSError as error:
            self.module.fail_json(msg="cannot write the backup %s before deleting: %s (this batch was not deleted; "
                                      "free space or choose another backup_dir)" % (self.path, error.strerror),
                                  backup_file=self.path)
        return saved

    def close(self):
        if self.handle is not None:
            self.handle.close()


class Cleanup:
    """The audit and the removal, batch by batch."""

    def __init__(self, module, client):
        self.module = module
        self.client = client
        self.params = module.params
        self.batch = module.params["batch_size"]
        self.backup = Backup(module, module.params["backup_dir"], module.params["state"])
        self.delete_unchanged = client.register_script(DELETE_UNCHANGED)
        self.counts = dict(sessions=0, sessions_ok=None, sessions_unopenable=None, sessions_malformed=None,
                           mappings=0, mappings_ok=None, mappings_orphaned=None, cache_keys=0)
        self.removed = dict(sessions=0, mappings=0, cache=0)
        self.left_changed = 0
        self.examples = {}
        self.bad_ids = set()
        self.bad_ids_overflow = False

    def not_strings(self, pairs):
        """Of [(key, value read)], the keys MGET had no value for that exist all the same: not strings.

        The others expired between SCAN and MGET, and are left out of every count.
        """
        missing = [key for key, value in pairs if value is None]
        if not missing:
            return set()
        pipe = self.client.pipeline(transaction=False)
        for key in missing:
            pipe.type(key)
        kinds = run(self.module, "read the type of keys", pipe.execute)
        return set(key for key, kind in zip(missing, kinds, strict=True) if to_text(kind) != "none")

    def remove(self, family, label, condemned, only_if_target_absent=False):
        """Back up and delete condemned [(key, value or None for a non-string)], if still unchanged."""
        if not condemned:
            return
        self.removed[family] += len(condemned)
        sample = self.examples.setdefault(label, [])
        for key, _value in condemned[:max(self.params["examples"] - len(sample), 0)]:
            sample.append(to_text(key, errors="surrogate_or_replace"))
        if self.module.check_mode:
            return
        saved = set(self.backup.save(self.client, [key for key, _value in condemned]))
        keys = [key for key, _value in condemned if key in saved]
        reads = [b"t" if value is None else b"s" + to_bytes(value) for key, value in condemned if key in saved]
        deleted = run(self.module, "delete the keys", self.delete_unchanged,
                      keys=keys, args=[b"1" if only_if_target_absent else b"0"] + reads) if keys else 0
        self.left_changed += len(condemned) - deleted
        self.removed[family] -= len(condemned) - deleted

    def sessions(self, keys):
        """The first walk: class every session (keys=None: condemn every one) and remove what is
        condemned, batch by batch. Decrypting is the audit's main cost, so this walk reads only
        session keys."""
        if keys:
            self.counts.update(sessions_ok=0, sessions_unopenable=0, sessions_malformed=0)
        for names, values in prefetched(scan_batches(self.client, SESSION_PREFIX, self.batch)):
            condemned, kinds = self.class_sessions(keys, names, values)
            self.counts["sessions"] += sum(len(pairs) for pairs in condemned.values()) + kinds[OK]
            if keys:
                for kind, count in kinds.items():
                    self.counts["sessions_" + kind] += count
                if self.module.check_mode:
                    for name, _value in condemned[UNOPENABLE] + condemned[MALFORMED]:
                        self.remember_bad(name)
            for kind, pairs in condemned.items():
                self.remove("sessions", kind, pairs)

    def class_sessions(self, keys, names, values):
        """One SCAN step of sessions: the condemned ones per class, and the count per class."""
        condemned = {UNOPENABLE: [], MALFORMED: [], "reset": []}
        kinds = {OK: 0, UNOPENABLE: 0, MALFORMED: 0}
        read = [(name, value) for name, value in zip(names, values, strict=True) if value is not None]
        if keys:
            for pair, kind in zip(read, keys.classify_all([value for _name, value in read]), strict=True):
                kinds[kind] += 1
                if kind != OK:
                    condemned[kind].append(pair)
        else:
            condemned["reset"] = read
        # MGET has no value for a key that is not a string, or that just expired.
        for name in self.not_strings([(name, value) for name, value in zip(names, values, strict=True)
                                      if value is None]):
            condemned[MALFORMED if keys else "reset"].append((name, None))
            kinds[MALFORMED] += 1  # unused with reset
        return condemned, kinds

    def cache(self, names):
        """Count a step's cache keys; with include_cache, remove them."""
        self.counts["cache_keys"] += len(names)
        if names and self.params["include_cache"]:
            pairs = list(zip(names, run(self.module, "read the cache", self.client.mget, names), strict=True))
            odd = self.not_strings(pairs)
            self.remove("cache", "cache", [(name, value) for name, value in pairs if value is not None or name in odd])

    def remember_bad(self, name):
        """In check mode the condemned sessions stay, so the mapping walk must know them: their ids are
        kept up to BAD_IDS_KEPT (32 bytes each); beyond, that walk opens the sessions again instead."""
        if len(self.bad_ids) < BAD_IDS_KEPT:
            self.bad_ids.add(bytes(name[len(SESSION_PREFIX):]))
        else:
            self.bad_ids_overflow = True

    def mapping_batches(self, follow):
        """Per SCAN step of the whole keyspace: the mappings as [(key, value)] (value None: not a
        string, or just expired), the set of positions (from 1, among those with a value) whose
        session is absent when follow is set, and the cache keys. Runs in the reading thread."""
        absent = self.client.register_script(ABSENT)
        index_prefix, cache_prefix, session_prefix = (prefix.encode() for prefix in
                                                      (INDEX_PREFIX, CACHE_PREFIX, SESSION_PREFIX))
        for names, values in prefetched(scan_batches(self.client, "", self.batch, fetch=INDEX_PREFIX)):
            mappings = [(name, value) for name, value in zip(names, values, strict=True)
                        if name.startswith(index_prefix)]
            cache = [name for name in names if name.startswith(cache_prefix)]
            sessions = [session_prefix + value for _name, value in mappings if value is not None] if follow else []
            # One EXISTS counts a whole batch; only a batch that comes up short is looked at key by key.
            short = sessions and self.client.exists(*sessions) < len(sessions)
            yield mappings, set(absent(keys=sessions)) if short else set(), cache

    def mappings_and_cache(self, keys):
        """The second walk: class every mapping (keys=None: condemn every one), remove the orphaned
        ones; count the cache and, with include_cache, remove it.

        A mapping can only be judged once every session has been, so this walk follows the first.
        It reads the mappings' values and asks Redis which of their sessions exist, a batch at a
        time; a check mode preview also looks them up among the sessions it condemned.
        """
        if keys:
            self.counts.update(mappings_ok=0, mappings_orphaned=0)
        for mappings, absent, cache in prefetched(self.mapping_batches(follow=keys is not None)):
            present = [pair for pair in mappings if pair[1] is not None]
            odd = [(name, None) for name in self.not_strings([pair for pair in mappings if pair[1] is None])]
            self.counts["mappings"] += len(present) + len(odd)
            if keys is None:
                self.remove("mappings", "reset", present + odd)
            else:
                orphaned = [pair for position, pair in enumerate(present, start=1)
                            if position in absent or pair[1] in self.bad_ids
                            or (self.bad_ids_overflow and self.opens_badly(keys, pair[1]))]
                self.counts["mappings_orphaned"] += len(orphaned) + len(odd)
                self.counts["mappings_ok"] += len(present) - len(orphaned)
                self.remove("mappings", "orphaned", orphaned, only_if_target_absent=True)
                self.remove("mappings", "orphaned", odd)
            self.cache(cache)

    def opens_badly(self, keys, session_id):
        """Whether the existing session a mapping leads to would be condemned: a check mode preview
        asks this only past BAD_IDS_KEPT condemned sessions, one session at a time (slow). A real run
        has deleted every condemned session before the mapping walk, and keeps no ids."""
        key = SESSION_PREFIX.encode() + session_id
        kind = to_text(run(self.module, "read a session's type", self.client.type, key))
        if kind != "string":
            return kind != "none"
        return keys.classify(run(self.module, "read a session", self.client.get, key)) != OK

    def result(self):
        self.backup.close()
        deleted = sum(self.removed.values())
        return dict(changed=deleted > 0, counts=self.counts, removed=self.removed, deleted=deleted,
                    left_changed=self.left_changed, examples=self.examples,
                    backup_file=self.backup.path, restored=0, restore_skipped=dict(exists=0, expired=0))


def read_backup(module, path):
    """Yield the entries of a backup file, failing with the line number on anything unexpected."""
    try:
        handle = open(path)
    except OSError as error:
        module.fail_json(msg="cannot read the backup %s: %s (give a file written by state=clean or state=reset)"
                             % (path, error.strerror))
    with handle:
        for number, line in enumerate(handle, start=1):
            try:
                entry = json.loads(line)
                if number == 1:
                    if entry.get("format") != BACKUP_FORMAT:
                        raise ValueError("not a pulse-ops backup (format %r)" % entry.get("format"))
                    continue
                yield (base64.b64decode(entry["key"], validate=True), int(entry["expire_at_ms"]),
                       base64.b64decode(entry["dump"], validate=True))
            except (ValueError, KeyError, TypeError, AttributeError) as error:
                module.fail_json(msg="cannot restore from %s: line %d is not a backup entry (%s); nothing was "
                                     "restored" % (path, number, error))


def restore(module, client):
    path = module.params["backup_file"]
    for _entry in read_backup(module, path):  # the whole file is checked before any write
        pass
    restored, skipped = 0, dict(exists=0, expired=0)
    entries = read_backup(module, path)
    while True:
        batch = [entry for _index, entry in zip(range(module.params["batch_size"]), entries, strict=False)]
        if not batch:
            break
        seconds, micros = run(module, "read the server's clock", client.time)
        now_ms = seconds * 1000 + micros // 1000
        live = [(key, expire_at, payload) for key, expire_at, payload in batch if expire_at < 0 or expire_at > now_ms]
        skipped["expired"] += len(batch) - len(live)
        pipe = client.pipeline(transaction=False)
        for key, expire_at, payload in live:
            if module.check_mode:
                pipe.exists(key)
            else:
                pipe.restore(key, max(expire_at, 0), payload, absttl=expire_at > 0)
        replies = run(module, "restore the keys", pipe.execute, raise_on_error=False) if live else []
        for (key, _expire_at, _payload), reply in zip(live, replies, strict=True):
            if module.check_mode:
                exists = reply == 1
            elif isinstance(reply, ResponseError) and str(reply).startswith("BUSYKEY"):
                exists = True
            elif isinstance(reply, Exception):
                module.fail_json(msg="cannot restore %s from %s: the server answered: %s (%d keys were restored "
                                     "before it; running the restore again skips them)"
                                     % (to_text(key, errors="surrogate_or_replace"), path, reply, restored),
                                 restored=restored)
            else:
                exists = False
            skipped["exists"] += exists
            restored += not exists
    return dict(changed=restored > 0, counts=None, removed=dict(sessions=0, mappings=0, cache=0), deleted=0,
                left_changed=0, examples={}, backup_file=path, restored=restored, restore_skipped=skipped)


def main():
    module = AnsibleModule(
        argument_spec=connection_argument_spec(
            state=dict(type="str", choices=["clean", "reset", "restored"], default="clean"),
            encryption_key=dict(type="str", no_log=True),
            encryption_salt=dict(type="str", no_log=True),
            include_cache=dict(type="bool", default=False),
            backup_dir=dict(type="path", default="/var/backups/pulse-ops"),
            backup_file=dict(type="path"),
            batch_size=dict(type="int", default=2000),
            examples=dict(type="int", default=5),
        ),
        required_if=[["state", "clean", ["encryption_key", "encryption_salt"]],
                     ["state", "restored", ["backup_file"]]],
        required_together=CONNECTION_REQUIRED_TOGETHER,
        supports_check_mode=True,
    )
    params = module.params
    if params["batch_size"] < 1:
        module.fail_json(msg="invalid batch_size %d: give at least 1" % params["batch_size"])
    if params["examples"] < 0:
        module.fail_json(msg="invalid examples %d: give 0 or more" % params["examples"])
    state = params["state"]
    if state == "clean":
        ensure_crypto_library(module)
    client = connect(module, {"clean": "clean Pulse's sessions", "reset": "reset Pulse's sessions",
                              "restored": "restore Pulse's sessions"}[state], decode_responses=False)
    if state == "restored":
        module.exit_json(**restore(module, client))

    cleanup = Cleanup(module, client)
    keys = Keys(params) if state == "clean" else None
    # A Redis error in a walk (also one raised in a reading thread) fails with its cause.
    run(module, "walk the sessions", cleanup.sessions, keys)
    run(module, "walk the mappings and the cache", cleanup.mappings_and_cache, keys)
    module.exit_json(**cleanup.result())


if __name__ == "__main__":
    main()
