"""Run inside the container: link or check N users through the app's API.

    python3 - link|check <count> [port] [prefix] < users.py

Prints JSON counts. Users are <prefix>NNNN@c.us (prefix 1876555 by default),
so a check finds exactly the users a link made. Standard library only (the
target has no requests).
"""
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

action, count = sys.argv[1], int(sys.argv[2])
base = "http://127.0.0.1:%s" % (sys.argv[3] if len(sys.argv) > 3 else "3000")
prefix = sys.argv[4] if len(sys.argv) > 4 else "1876555"


def user(number):
    return "%s%04d@c.us" % (prefix, number)


# The URLs are always http://127.0.0.1:<port>/... built here, never from input,
# hence the noqa on each urllib call (ruff S310 guards against file: URLs).
def call(number):
    if action == "link":
        request = urllib.request.Request(base + "/link", data=json.dumps({"whatsappId": user(number)}).encode(),  # noqa: S310 fixed http URL
                                         headers={"Content-Type": "application/json"}, method="POST")
    else:
        url = base + "/balance?whatsappId=" + urllib.parse.quote(user(number))
        request = urllib.request.Request(url)  # noqa: S310 fixed http URL
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 fixed http URL
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


with ThreadPoolExecutor(max_workers=8) as pool:
    statuses = list(pool.map(call, range(count)))
print(json.dumps({str(status): statuses.count(status) for status in sorted(set(statuses))}))
