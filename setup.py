"""Builds the extension module evlog._evlog with the project's CMake, for `pip install .`.

The module is the C++ library itself, compiled and linked by CMake as in every other build; this
file only tells CMake which interpreter to build for (the one running pip) and where setuptools
wants the module. Everything else about the package is in pyproject.toml."""

import os
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = os.path.dirname(os.path.abspath(__file__))


class CMakeExtension(Extension):
    def __init__(self, name):
        super().__init__(name, sources=[])


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        module_dir = os.path.dirname(os.path.abspath(self.get_ext_fullpath(ext.name)))
        build_dir = os.path.abspath(os.path.join(self.build_temp, "cmake"))
        configure = [
            "cmake", "-S", ROOT, "-B", build_dir,
            "-DCMAKE_BUILD_TYPE=Release",
            f"-DPython3_EXECUTABLE={sys.executable}",
            f"-DEVLOG_PYTHON_MODULE_DIR={module_dir}",
            "-DEVLOG_BUILD_PYTHON=ON",
            "-DEVLOG_BUILD_TESTS=OFF",
            "-DEVLOG_BUILD_BENCH=OFF",
            "-DEVLOG_BUILD_TOOLS=OFF",
            "-DEVLOG_BUILD_EXAMPLES=OFF",
        ]
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 1))
        subprocess.run(configure, check=True)
        subprocess.run(["cmake", "--build", build_dir, "--target", "evlog_python", "-j", jobs],
                       check=True)


setup(ext_modules=[CMakeExtension("evlog._evlog")], cmdclass={"build_ext": CMakeBuild})
