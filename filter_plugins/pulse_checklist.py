# The guide's quick checklist, judged from what playbooks/checklist.yml gathered
# on a host: one PASS, FAIL or SKIP per item, with the cause and the fix. Runs
# on the controller. Takes fingerprints and problem texts, never a secret.

SESSION_KEYS = (
    ("encryption_key", "ENCRYPTION_KEY"),
    ("encryption_salt", "ENCRYPTION_SALT"),
    ("hash_salt", "HASH_SALT"),
)
REDIS_FIX = "run playbooks/redis.yml (the redis role applies it live and writes it to the config file)"


def _item(ident, item, failure, detail, fix, *, skip=None):
    """failure: None for PASS, else the cause; skip: a reason to SKIP instead of judging."""
    if skip:
        return dict(id=ident, item=item, status="SKIP", detail=skip, fix="")
    if failure:
        return dict(id=ident, item=item, status="FAIL", detail=failure, fix=fix)
    return dict(id=ident, item=item, status="PASS", detail=detail, fix="")


def _conf_value(lines, name):
    """The value a setting gets from the config file lines (save lines add up, later lines win)."""
    values = [line.split(None, 1)[1].strip() if " " in line.strip() else "" for line in lines
              if line.split(None, 1)[:1] == [name]]
    if name == "save":
        rules = []
        for value in values:
            rules = [] if value in ("", '""') else rules + [value]
        return " ".join(rules)
    return values[-1] if values else None


def _redis_items(facts):
    redis = facts.get("redis") or {}
    if redis.get("failed") or "config" not in redis:
        cause = "cannot read Redis: %s" % redis.get("msg", "no answer")
        fix = "start redis-server and check the env file's REDIS_HOST, REDIS_PORT and REDIS_PASSWORD"
        return [_item(ident, item, cause, "", fix) for ident, item in (
            ("save_rules", "Save rules present"), ("aof", "AOF on and healthy"),
            ("data_dir", "Data directory exists, owned by redis, closed to others"),
            ("data_dir_persistent", "Nothing wipes the data directory on restart"))]
    config, info, data_dir = redis["config"], redis.get("persistence", {}), redis.get("data_dir", {})
    lines = facts.get("conf_lines") or []
    running_save = " ".join(config.get("save", "").split())
    file_save = " ".join((_conf_value(lines, "save") or "").split())
    items = [_item(
        "save_rules", "Save rules present",
        "no save rules: Redis writes no snapshot" if not running_save else
        ("the running rules (%s) are not the config file's (%s): a restart changes them"
         % (running_save, file_save or "none") if running_save != file_save else None),
        "running and in the config file: save %s" % running_save, REDIS_FIX)]
    aof_failure = None
    if config.get("appendonly") != "yes":
        aof_failure = "appendonly is %s: writes since the last snapshot are lost on a crash" % config.get("appendonly")
    elif _conf_value(lines, "appendonly") != "yes":
        aof_failure = "appendonly is on, but not in the config file: a restart turns it off"
    else:
        for field in ("aof_last_write_status", "aof_last_bgrewrite_status"):
            if info.get(field) not in (None, "ok"):
                aof_failure = "%s is %s" % (field, info[field])
    items.append(_item("aof", "AOF on and healthy", aof_failure, "appendonly yes, last write and rewrite ok",
                       REDIS_FIX))
    if not data_dir.get("checked"):
        dir_failure = "the data directory %s is on another host and was not inspected" % data_dir.get("path")
    elif not data_dir.get("exists"):
        dir_failure = "the data directory %s does not exist" % data_dir.get("path")
    else:
        mode = int(data_dir["mode"], 8)
        dir_failure = "; ".join(problem for problem in (
            "owned by %s:%s, not redis:redis" % (data_dir["owner"], data_dir["group"])
            if (data_dir["owner"], data_dir["group"]) != ("redis", "redis") else "",
            "mode %s lets others in (0750 or stricter)" % data_dir["mode"] if mode & 0o027 else "",
            "not writable by redis-server" if data_dir.get("writable_by_server") is False else "",
        ) if problem) or None
        if dir_failure:
            dir_failure = "%s: %s" % (data_dir["path"], dir_failure)
    items.append(_item("data_dir", "Data directory exists, owned by redis, closed to others", dir_failure,
                       "%s redis:redis %s" % (data_dir.get("path"), data_dir.get("mode")),
                       "run playbooks/redis.yml (the redis role sets redis:redis 0750)"))
    fstype = data_dir.get("fstype", "unknown")
    items.append(_item(
        "data_dir_persistent", "Nothing wipes the data directory on restart",
        "%s is on %s: everything is lost on reboot" % (data_dir.get("path"), fstype)
        if fstype in ("tmpfs", "ramfs") else None,
        "%s is on %s, which keeps it across restarts" % (data_dir.get("path"), fstype),
        "point redis_data_dir at a directory on a disk and run playbooks/redis.yml"))
    return items


def _lastsave_item(facts):
    save = facts.get("lastsave") or {}
    if save.get("skipped"):
        return _item("lastsave", "LASTSAVE recent (a real BGSAVE probe)", None, "", "",
                     skip="not probed in check mode (the probe saves; run without --check)")
    # The play registers the probe with failed_when: false, which clears 'failed': judge by LASTSAVE itself.
    advanced = (save.get("lastsave") or 0) > (save.get("lastsave_before") or 0)
    return _item(
        "lastsave", "LASTSAVE recent (a real BGSAVE probe)",
        None if advanced else "the probe's save failed: %s" % save.get("msg", "LASTSAVE did not advance"),
        "BGSAVE probe: LASTSAVE advanced, the save took %s s" % save.get("duration"),
        "read the cause above; check the data directory's space and owner, then run playbooks/redis.yml")


def _key_items(facts):
    items = []
    host, vault, record = facts.get("host_keys") or {}, facts.get("vault_keys") or {}, facts.get("record_keys") or {}
    problems = facts.get("host_key_problems") or []
    for name, setting in SESSION_KEYS:
        mine = [problem for problem in problems if problem.startswith(name + " ")]
        failure = None
        if mine:
            failure = "%s on the host: %s" % (setting, mine[0][len(name) + 1:])
        elif not record.get(name):
            failure = "no fingerprint recorded for %s: this host was not deployed by pulse-ops" % setting
        elif host.get(name) != record.get(name) or host.get(name) != vault.get(name):
            failure = "%s differs: host %s, recorded %s, vault %s (Pulse cannot open or find sessions written " \
                      "with the other value)" % (setting, host.get(name), record.get(name), vault.get(name))
        items.append(_item(
            name, "%s set and matching the recorded fingerprint" % setting, failure,
            "set; host, record and vault agree (%s)" % host.get(name),
            "never change it once users linked: put back the value that matches the record "
            "(playbooks/restore-keys.yml), then run playbooks/site.yml"))
    return items


def _one_redis_item(facts):
    pids = [pid for pid in facts.get("redis_pids") or [] if pid]
    main = facts.get("redis_main_pid") or ""
    answering = str(((facts.get("redis") or {}).get("server") or {}).get("process_id") or "")
    target = facts.get("redis_target", "")
    failure = None
    if len(pids) != 1:
        failure = "%d redis-server processes run on the host (%s): one must hold the sessions" % (
            len(pids), ", ".join(pids) or "none")
    elif main in ("", "0"):
        failure = "redis-server.service is not running; the one redis-server (pid %s) is another" % pids[0]
    elif answering != main:
        failure = "the Redis at %s (the env file's) is pid %s, not redis-server.service's pid %s" % (
            target, answering or "unknown", main)
    return _item("one_redis", "One Redis instance, the same one every time", failure,
                 "one redis-server (pid %s, redis-server.service) answers at %s, the env file's" % (main, target),
                 "stop the other instance; point REDIS_HOST and REDIS_PORT at redis-server.service "
                 "(playbooks/site.yml writes them)")


def _pulse_items(facts):
    if not facts.get("pulse"):
        reason = "Pulse does not run on this host"
        return [_item("pulse_health", "Pulse healthy", None, "", "", skip=reason),
                _item("elevenlabs", "ElevenLabs key state", None, "", "", skip=reason)]
    health = facts.get("health") or {}
    body = health.get("json") if isinstance(health.get("json"), dict) else {}
    failure = None
    if health.get("status") != 200 or body.get("status") != "ok":
        failure = "GET /health answered %s: %s" % (health.get("status"), health.get("msg", "")
                                                   if health.get("status") != 200 else body)
    items = [_item("pulse_health", "Pulse healthy", failure, "GET /health answers status ok",
                   "pulse status; pulse logs (then pulse restart)")]
    eleven = facts.get("elevenlabs") or {}
    state = eleven.get("state")
    items.append(_item(
        "elevenlabs", "ElevenLabs key state",
        eleven.get("msg", "not checked") if state not in ("valid", "unset") else None,
        eleven.get("msg", ""),
        "put a valid ELEVENLABS_API_KEY in the vault, or set pulse_elevenlabs_policy=disable, "
        "then run playbooks/site.yml"))
    return items


def checklist(facts):
    """Every item of the guide's checklist, in its order, as {id, item, status, detail, fix}."""
    redis = _redis_items(facts)
    return (redis[:2] + [_lastsave_item(facts)] + redis[2:] + _key_items(facts)
            + [_one_redis_item(facts)] + _pulse_items(facts))


def checklist_markdown(report):
    """The report as a readable Markdown table."""
    def cell(text):
        return str(text).replace("|", "\\|").replace("\n", " ")

    lines = ["# Pulse checklist: %s" % report["host"], "",
             "%s at %s: %d PASS, %d FAIL, %d SKIP" % (
                 report["result"], report["at"], *(sum(1 for item in report["items"] if item["status"] == status)
                                                   for status in ("PASS", "FAIL", "SKIP"))),
             "", "| Item | Status | Detail | Fix |", "| --- | --- | --- | --- |"]
    lines += ["| %s | %s | %s | %s |" % (cell(item["item"]), item["status"], cell(item["detail"]), cell(item["fix"]))
              for item in report["items"]]
    return "\n".join(lines) + "\n"


def checklist_line(item):
    """One item as a line of the play's output."""
    if item["status"] == "FAIL":
        return "[FAIL] %s: %s. Fix: %s" % (item["item"], item["detail"], item["fix"])
    return "[%s] %s: %s" % (item["status"], item["item"], item["detail"])


class FilterModule(object):
    def filters(self):
        return {"pulse_checklist": checklist, "pulse_checklist_markdown": checklist_markdown,
                "pulse_checklist_line": checklist_line}
