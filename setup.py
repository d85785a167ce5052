"""Builds the eventhooks Python package: the .py files of python/eventhooks plus the module eventhooks._eventhooks,
which CMake builds (python/CMakeLists.txt) in build/python-package. Everything it needs comes from Debian
(scripts/install-deps.sh); nothing is fetched from a package index:

    python3 -m pip install --no-build-isolation .      (or `make python`; docs/python.md)

CMAKE_BUILD_PARALLEL_LEVEL limits the build's jobs, as for any CMake build.
"""
import pathlib
import re
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = pathlib.Path(__file__).resolve().parent
VERSION = re.search(r"project\(eventhooks VERSION ([0-9.]+)", (ROOT / "CMakeLists.txt").read_text()).group(1)


class CMakeExtension(Extension):
    def __init__(self, name):
        super().__init__(name, sources=[])


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build = ROOT / "build" / "python-package"
        subprocess.check_call([
            "cmake", "-S", str(ROOT), "-B", str(build), "-G", "Ninja",
            "-DCMAKE_BUILD_TYPE=Release",
            "-DEVENTHOOKS_BUILD_PYTHON=ON",
            "-DEVENTHOOKS_BUILD_TESTS=OFF",
            "-DEVENTHOOKS_BUILD_BENCH=OFF",
            "-DEVENTHOOKS_BUILD_CLI=OFF",
            "-DEVENTHOOKS_INSTALL=OFF",
            # The interpreter running this build is the one the module is for.
            f"-DPython_EXECUTABLE={sys.executable}",
        ])
        subprocess.check_call(["cmake", "--build", str(build), "--target", "eventhooks_python"])
        target = pathlib.Path(self.get_ext_fullpath(ext.name))
        built = build / "python" / "eventhooks" / target.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built, target)


setup(
    name="eventhooks",
    version=VERSION,
    description="Fire webhooks, email and AMQP messages when something happens (C++ library, Python drop-in)",
    python_requires=">=3.9",
    package_dir={"": "python"},
    packages=["eventhooks", "eventhooks.mail"],
    ext_modules=[CMakeExtension("eventhooks._eventhooks")],
    cmdclass={"build_ext": CMakeBuild},
    zip_safe=False,
)
