"""Builds the compiled fast path (``sim/model/_batch.pyx``) where a C compiler exists (the rest: pyproject.toml).

Without a compiler (or without Cython) the build goes on with one warning line and portsim runs its pure
Python model, which gives the same results.
"""

from __future__ import annotations

import importlib.util
import sys
import warnings
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).parent
WARNING = "portsim: the compiled fast path was not built ({}); portsim will run its pure Python model (same results)"


def mirrored_digest() -> str:
    spec = importlib.util.spec_from_file_location("portsim_mirrored", HERE / "sim" / "model" / "mirrored.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.digest(HERE / "sim"))


class OptionalBuildExt(build_ext):
    """build_ext that warns in one line instead of failing when the extension cannot be compiled, and then leaves
    no module in place (not even one an earlier build left in ``build/``)."""

    warned = False

    def warn(self, exc: Exception) -> None:
        if not self.warned:
            self.warned = True
            print(WARNING.format(str(exc).splitlines()[0] if str(exc) else type(exc).__name__), file=sys.stderr)

    def copy_extensions_to_source(self) -> None:
        if not self.warned:
            super().copy_extensions_to_source()

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # no compiler at all (DistutilsPlatformError and kin), or nothing built to copy
            self.warn(exc)

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:  # a compiler that fails: missing headers, broken toolchain
            self.warn(exc)


# setuptools' notice that [tool.setuptools] in pyproject.toml is "beta": not ours to act on, and it would make the
# one warning line three
warnings.filterwarnings("ignore", message=r"Support for .*tool\.setuptools.* is still \*beta\*")


def extensions() -> list[Extension]:
    try:
        from Cython.Build import cythonize
    except ImportError:
        print(WARNING.format("Cython is not installed"), file=sys.stderr)
        return []
    extension = Extension(
        "sim.model._batch",
        ["sim/model/_batch.pyx"],
        define_macros=[("PORTSIM_SOURCE_HASH", f'"{mirrored_digest()}"')],
        extra_compile_args=["-O2"],
    )
    return list(cythonize([extension], quiet=True, language_level=3))


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})
