"""The sdist (scripts/wheel.sh makes it beside the wheels): it holds what the build needs,
its CMake project configures where the libraries are installed, and where they are not
it names every missing one with the package that provides it."""

from __future__ import annotations

import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from wheel_helpers import WHEEL_DIR

import pgcdc

NEEDED = ["CMakeLists.txt", "pyproject.toml", "README.md", "include/pgcdc/version.h",
          "include/pgcdc/change_stream.h", "src/CMakeLists.txt", "proto/pgcdc/v1/change.proto",
          "bindings/CMakeLists.txt", "bindings/python/pgcdc/__init__.py", "tools/pgcdc/main.cc",
          "cmake/PgcdcDependencies.cmake", "cmake/pgcdcConfig.cmake.in"]


@pytest.fixture(scope="module")
def sdist_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sdist = WHEEL_DIR / ("pgcdc-%s.tar.gz" % pgcdc.__version__)
    if not sdist.is_file():
        pytest.fail("%s is missing: scripts/wheel.sh makes it" % sdist, pytrace=False)
    out = tmp_path_factory.mktemp("sdist")
    with tarfile.open(sdist) as tf:
        names = tf.getnames()
        top = "pgcdc-%s/" % pgcdc.__version__
        assert all(n.startswith(top) or n + "/" == top for n in names), names[:5]
        assert not [n for n in names if n.startswith((top + "build", top + "dist"))]
        # The "data" filter where tarfile has it (3.12, and recent 3.9-3.11 releases).
        tf.extractall(out, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    return out / top.rstrip("/")


def configure(source: Path, build: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [shutil.which("cmake") or "cmake", "-S", str(source), "-B", str(build),
         "-DPGCDC_BUILD_TESTS=OFF", "-DPGCDC_BUILD_BENCHMARKS=OFF", *extra],
        capture_output=True, text=True, timeout=120)


def test_sdist_holds_the_sources_the_build_needs(sdist_tree: Path) -> None:
    missing = [n for n in NEEDED if not (sdist_tree / n).is_file()]
    assert not missing


def test_sdist_configures_where_the_libraries_are_installed(sdist_tree: Path,
                                                            tmp_path: Path) -> None:
    r = configure(sdist_tree, tmp_path / "build")
    assert r.returncode == 0, r.stderr[-3000:]
    cache = (tmp_path / "build" / "CMakeCache.txt").read_text()
    assert "CMAKE_PROJECT_VERSION:STATIC=%s" % pgcdc.__version__ in cache


def test_sdist_names_every_missing_library(sdist_tree: Path, tmp_path: Path) -> None:
    # A machine without the libraries, as CMake sees it: every search rooted elsewhere.
    r = configure(sdist_tree, tmp_path / "build", "-DCMAKE_FIND_ROOT_PATH=%s" % tmp_path,
                  *("-DCMAKE_FIND_ROOT_PATH_MODE_%s=ONLY" % m
                    for m in ("PACKAGE", "LIBRARY", "INCLUDE")))
    assert r.returncode != 0
    for line in ("absl: apt-get install libabsl-dev",
                 "Protobuf: apt-get install libprotobuf-dev protobuf-compiler",
                 "PostgreSQL: apt-get install libpq-dev",
                 "spdlog: apt-get install libspdlog-dev", "fmt: apt-get install libfmt-dev"):
        assert line in r.stderr, r.stderr[-3000:]

