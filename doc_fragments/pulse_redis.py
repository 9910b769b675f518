# -*- coding: utf-8 -*-
# Documentation of the Redis connection options that every pulse-ops module
# shares (module_utils/pulse_redis.py defines them once).


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  login_host:
    description: Host of the Redis server. Ignored when O(login_unix_socket) is set.
    type: str
    default: 127.0.0.1
  login_port:
    description: TCP port of the Redis server.
    type: int
    default: 6379
  login_unix_socket:
    description: Path of the server's unix socket, used instead of host and port.
    type: path
  login_user:
    description: ACL user name; leave unset for the default user.
    type: str
  login_password:
    description: The server's C(requirepass) (or the ACL user's password).
    type: str
  db:
    description: Database number to select.
    type: int
    default: 0
  tls:
    description: Connect with TLS.
    type: bool
    default: false
  validate_certs:
    description: Verify the server's TLS certificate.
    type: bool
    default: true
  ca_certs:
    description: CA bundle that signed the server's certificate.
    type: path
  client_cert_file:
    description: Client certificate for TLS; needs O(client_key_file).
    type: path
  client_key_file:
    description: Key of the client certificate.
    type: path
  connect_timeout:
    description: Seconds to wait for the connection.
    type: float
    default: 5.0"""
