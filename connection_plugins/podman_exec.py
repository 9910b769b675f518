# pulse-ops' connection to the local Podman containers of its sandbox and tests.
# containers.podman.podman runs `podman exec` without stdin, so Ansible cannot
# pipeline modules through it: every task then costs several podman calls (a
# temporary directory, the module file, the run, the clean-up). This one keeps
# stdin open (`podman exec -i`), so each module is one `podman exec`.

DOCUMENTATION = r"""
name: podman_exec
short_description: Run tasks in a local Podman container, with pipelining
description:
  - Runs each task with one C(podman exec -i) in a running container on the controller; files
    are copied with C(podman cp). For the project's sandbox and molecule containers.
author: pulse-ops
options:
  remote_addr:
    description: The container's name or id.
    type: str
    default: inventory_hostname
    vars:
      - name: inventory_hostname
      - name: ansible_host
  podman_executable:
    description: The podman command on the controller.
    type: str
    default: podman
    vars:
      - name: ansible_podman_executable
"""

import shlex
import subprocess

from ansible.errors import AnsibleError
from ansible.module_utils.common.process import get_bin_path
from ansible.module_utils.common.text.converters import to_bytes
from ansible.plugins.connection import ConnectionBase, ensure_connect
from ansible.utils.display import Display

display = Display()


class Connection(ConnectionBase):
    transport = "podman_exec"
    has_pipelining = True

    def _podman(self, *args, in_data=None):
        command = [get_bin_path(self.get_option("podman_executable")), *args]
        display.vvv("RUN %s" % (command,), host=self.get_option("remote_addr"))
        run = subprocess.run([to_bytes(arg, errors="surrogate_or_strict") for arg in command], input=in_data,
                             capture_output=True, check=False)
        return run.returncode, run.stdout, run.stderr

    def _connect(self):
        super()._connect()
        self._connected = True
        return self

    @ensure_connect
    def exec_command(self, cmd, in_data=None, sudoable=False):
        super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
        exec_args = ["exec", "-i"] if in_data is not None else ["exec"]
        return self._podman(*exec_args, self.get_option("remote_addr"), *shlex.split(cmd), in_data=in_data)

    def _copy(self, source, target, what):
        rc, _, stderr = self._podman("cp", source, target)
        if rc != 0:
            raise AnsibleError("cannot copy %s with podman cp: %s" % (what, stderr.decode(errors="replace").strip()))

    @ensure_connect
    def put_file(self, in_path, out_path):
        super().put_file(in_path, out_path)
        self._copy(in_path, "%s:%s" % (self.get_option("remote_addr"), out_path), in_path)

    @ensure_connect
    def fetch_file(self, in_path, out_path):
        super().fetch_file(in_path, out_path)
        self._copy("%s:%s" % (self.get_option("remote_addr"), in_path), out_path, in_path)

    def close(self):
        self._connected = False
