"""Working directories that prove who made them, and their clean-up.

A writer that builds something beside its target (a preset's new version, a
data set's verified files) does it in a directory named
`<prefix><pid>-<8 random characters>` holding a marker file: what made it
(`purpose`), for which `target`, the writer's `pid` and `host`. A later run
removes such a directory only when it can prove it is a dead writer's own:

- the name is exactly `<prefix><pid>-<8 characters>`, and it is a directory,
  not a symbolic link;
- either it holds the marker, which names the same purpose, target, pid and
  this host, and that process no longer runs;
- or it holds nothing but (part of) the marker (a writer killed while
  making it), and the pid of its name no longer runs.

Anything else, a live writer's directory, another machine's (on a shared
file system), a directory of the user's with a similar name, is left alone.
Nothing is found by glob patterns: the parent is listed and each name is
matched exactly.
"""

import contextlib
import json
import os
import re
import shutil
import socket
import stat
import tempfile
import time

from keras_vae.utils.files import fsync_directory
from keras_vae.utils.files import pid_alive


class MarkedDirectories:
    """Makes, recognises and removes the marked directories of one writer.

    Args:
        marker: str. The marker's file name (hidden, distinctive).
        purpose: str. What makes these directories, written in the marker.
    """

    def __init__(self, marker, purpose):
        self.marker = marker
        self.purpose = purpose

    def make(self, parent, prefix, target, **extra):
        """A new directory `<parent>/<prefix><pid>-<random>`, marked.

        Args:
            parent: str or path-like. Where to make it (beside `target`).
            prefix: str. The start of its name.
            target: str. What it is for, written in the marker.
            **extra: more JSON values for the marker.

        Returns:
            The directory's path, a str.
        """
        directory = tempfile.mkdtemp(
            prefix=f"{prefix}{os.getpid()}-", dir=os.fspath(parent)
        )
        self.write_marker(directory, target, **extra)
        return directory

    def write_marker(self, directory, target, **extra):
        """(Re)writes the marker of `directory`, atomically."""
        marker = {
            "purpose": self.purpose,
            "target": os.fspath(target),
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "created": time.time(),
            **extra,
        }
        temporary = os.path.join(directory, self.marker + ".tmp")
        with open(temporary, "w", encoding="utf-8") as f:
            json.dump(marker, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, os.path.join(directory, self.marker))

    def read_marker(self, directory):
        """The marker of `directory` as a dict, or None if absent or bad."""
        path = os.path.join(directory, self.marker)
        try:
            if not stat.S_ISREG(os.lstat(path).st_mode):
                return None
            with open(path, encoding="utf-8") as f:
                marker = json.loads(f.read(4096))
        except (OSError, ValueError):
            return None
        return marker if isinstance(marker, dict) else None

    def remove(self, directory):
        """Removes a marked directory, its marker last, so that a removal
        cut short leaves a directory the next run still recognises."""
        try:
            entries = os.listdir(directory)
        except FileNotFoundError:
            return
        for entry in entries:
            if entry == self.marker:
                continue
            path = os.path.join(directory, entry)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    os.remove(path)
        with contextlib.suppress(FileNotFoundError):
            os.remove(os.path.join(directory, self.marker))
        with contextlib.suppress(OSError):
            os.rmdir(directory)
        fsync_directory(os.path.dirname(os.fspath(directory)))

    def stale(self, parent, prefix, target):
        """The directories for `target` left in `parent` by dead writers.

        Directories killed while being made (nothing but part of their
        marker) are removed here; the others are returned, with their
        marker, for the caller to mend from and then `remove`.

        Returns:
            A list of `(path, marker)`, sorted by name.
        """
        pattern = re.compile(re.escape(prefix) + r"([1-9][0-9]{0,9})-\w{8}")
        target = os.fspath(target)
        found = []
        for entry in sorted(os.listdir(parent)):
            match = pattern.fullmatch(entry)
            path = os.path.join(parent, entry)
            if match is None or os.path.islink(path) or not os.path.isdir(path):
                continue
            pid = int(match.group(1))
            try:
                entries = set(os.listdir(path))
            except OSError:
                continue
            if entries <= {self.marker, self.marker + ".tmp"}:
                if not pid_alive(pid):  # Killed while making it.
                    for name in entries:
                        with contextlib.suppress(OSError):
                            os.remove(os.path.join(path, name))
                    with contextlib.suppress(OSError):
                        os.rmdir(path)
                continue
            marker = self.read_marker(path)
            if (
                marker is None
                or marker.get("purpose") != self.purpose
                or marker.get("target") != target
                or marker.get("pid") != pid
                or marker.get("host") != socket.gethostname()
                or pid_alive(pid)
            ):
                continue
            found.append((path, marker))
        return found
