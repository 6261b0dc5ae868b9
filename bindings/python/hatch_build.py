"""Hatchling build hook: builds libponder.so with SwiftPM and puts it, with the default model,
into the wheel (ponder/libponder.so, ponder/models/), so the installed package needs neither
the repository nor an environment variable. Needs the Swift toolchain and the apt packages
of `scripts/setup` on the building machine, not on the one that installs the wheel: the
library carries the Swift runtime."""
import re
import shutil
import subprocess
import sysconfig
from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class SwiftBuildHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version, build_data):
        if self.target_name != "wheel":
            return
        repo = Path(self.root).resolve().parents[1]
        if not (repo / "Package.swift").is_file():
            raise RuntimeError(f"the ponder wheel is built from a clone of the repository ({repo} holds no "
                               "Package.swift): pip install ./bindings/python from its root")
        swift = shutil.which("swift")
        if swift is None:
            raise RuntimeError("building the ponder wheel needs the Swift toolchain (swift on PATH)")
        build = subprocess.run([swift, "build", "-c", "release", "--product", "ponder", "--package-path", str(repo)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if build.returncode != 0:
            raise RuntimeError("swift build -c release --product ponder failed:\n" + build.stdout[-4000:])
        if version == "editable":
            return  # an editable install loads the repository's build and models (ponder.library_path)
        header = (repo / "include" / "ponder.h").read_text()
        name = re.search(r'^#define PONDER_DEFAULT_MODEL "(.*)"$', header, re.M).group(1)  # the default model
        library, model = repo / ".build" / "release" / "libponder.so", repo / "models" / name
        for path in (library, model):
            if not path.is_file():
                raise RuntimeError(f"{path} is missing")
        build_data["force_include"][str(library)] = "ponder/libponder.so"
        build_data["force_include"][str(model)] = f"ponder/models/{name}"
        # ctypes, not a C extension: any CPython 3 on this platform loads it.
        build_data["pure_python"] = False
        build_data["tag"] = "py3-none-" + sysconfig.get_platform().replace("-", "_").replace(".", "_")
