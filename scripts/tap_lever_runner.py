#!/usr/bin/env python3
"""Runs Singer's tap-lever (1.1.0) against the in-repo Lever sandbox, `opportunities` stream only.

Environment: LEVER_SANDBOX_URL (e.g. http://127.0.0.1:PORT/v1, loopback only), LEVER_API_KEY, and optionally
TAP_LEVER_START_DATE (ISO 8601, default 8 days ago). Records go to /dev/null; a summary of the requests it made
(endpoints and query parameter names) goes to stderr at the end. It never contacts any host but 127.0.0.1.
"""
import collections
import datetime
import json
import os
import sys
import tempfile
import urllib.parse

import requests

SANDBOX = os.environ["LEVER_SANDBOX_URL"].rstrip("/")
_parsed = urllib.parse.urlsplit(SANDBOX)
assert _parsed.scheme == "http" and _parsed.hostname == "127.0.0.1", f"not the loopback sandbox: {SANDBOX}"

seen = collections.Counter()
param_names = collections.Counter()
limits = collections.Counter()
window_starts = collections.Counter()
_original_request = requests.Session.request


def guarded_request(self, method, url, params=None, **kwargs):
    """Every request tap-lever makes passes here: refuse any host but the sandbox, and count what is asked."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http" or parts.hostname != "127.0.0.1" or parts.port != _parsed.port:
        raise RuntimeError(f"tap_lever_runner: refusing a request to {url}")
    params = dict(params or {})
    if "offset" in params:
        # Lever's `next` token comes URL-encoded and tap-lever hands it to requests, which encodes it again; the
        # sandbox decodes once and answers "Invalid offset token", and tap-lever then restarts the window from its
        # first page, forever. Pass the token decoded so that it arrives as it was given.
        params["offset"] = urllib.parse.unquote(params["offset"])
    else:
        window = (parts.path, tuple(sorted(params.items())))
        window_starts[window] += 1
        if window_starts[window] > 2:
            raise RuntimeError(f"tap_lever_runner: tap-lever restarted {window} again (an offset loop)")
    seen[f"{method} {parts.path}"] += 1
    for name, value in (params or {}).items():
        param_names[name] += 1
        if name == "limit":
            limits[str(value)] += 1
    return _original_request(self, method, url, params=params, **kwargs)


requests.Session.request = guarded_request  # requests.request goes through a Session too

import tap_lever  # noqa: E402
from tap_lever.streams.base import BaseStream  # noqa: E402


def sandbox_url(self):
    return SANDBOX + self.path


BaseStream.get_url = sandbox_url  # the only base URL hook: 'https://api.lever.co/v1{}'.format(self.path)


def catalog():
    """The discovered entry for `opportunities`, selected; every other stream left out."""
    stream = next(s for s in tap_lever.AVAILABLE_STREAMS if s.TABLE == "opportunities")
    entries = stream({}, {}, None, None).generate_catalog()
    for entry in entries:
        for item in entry["metadata"]:
            if tuple(item["breadcrumb"]) == ():
                item["metadata"]["selected"] = True
    return {"streams": entries}


def main():
    start = os.environ.get("TAP_LEVER_START_DATE") or (
        datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=8)
    ).strftime("%Y-%m-%dT%H:%M:%SZ")
    work = tempfile.mkdtemp(prefix="tap-lever-peer-")
    files = {
        "config": {"token": os.environ["LEVER_API_KEY"], "start_date": start},
        "catalog": catalog(),
        "state": {},
    }
    argv = [sys.argv[0]]
    for name, content in files.items():
        path = os.path.join(work, name + ".json")
        with open(path, "w") as f:
            json.dump(content, f)
        argv += ["--" + name, path]
    sys.argv = argv
    real_stdout = sys.stdout
    sys.stdout = open(os.devnull, "w")  # Singer messages (records, schema, state)
    try:
        tap_lever.main()
    finally:
        sys.stdout.close()
        sys.stdout = real_stdout
        summary = {"requests": dict(seen), "params": dict(param_names), "limit": dict(limits), "start_date": start}
        print("tap_lever_runner summary: " + json.dumps(summary), file=sys.stderr)


if __name__ == "__main__":
    main()
