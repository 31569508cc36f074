# The portable wheels' toolchain (scripts/wheel.sh): CMake and pip run on the host, the
# compiler and linker are Debian 11's, run inside the build root $PGCDC_WHEEL_ROOT, and
# every library comes from that root. Paths under the root are the same inside it
# because scripts/wheel/mounts.sh binds the source tree (which holds the root) there.
if(NOT DEFINED ENV{PGCDC_WHEEL_ROOT})
  message(FATAL_ERROR "PGCDC_WHEEL_ROOT is not set: build the wheels with scripts/wheel.sh")
endif()
set(PGCDC_WHEEL_ROOT $ENV{PGCDC_WHEEL_ROOT})
set(CMAKE_C_COMPILER ${CMAKE_CURRENT_LIST_DIR}/../../scripts/wheel/gcc)
set(CMAKE_CXX_COMPILER ${CMAKE_CURRENT_LIST_DIR}/../../scripts/wheel/g++)
# Debian multiarch: CMake cannot infer it from a compiler whose directories are inside the root.
set(CMAKE_LIBRARY_ARCHITECTURE x86_64-linux-gnu)

# Libraries only from the root: a host library would raise the wheel's glibc floor.
# Headers and CMake packages from the root first, then the host's (Python's headers and
# pybind11 live in the host's interpreter and pip's build environment).
set(CMAKE_FIND_ROOT_PATH ${PGCDC_WHEEL_ROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
# The root's protoc (the version of the root's libprotobuf) runs on the host as it is.
set(Protobuf_PROTOC_EXECUTABLE ${PGCDC_WHEEL_ROOT}/usr/local/bin/protoc CACHE FILEPATH "")
# No RPATH: the root's library paths mean nothing where the wheel is installed, and
# auditwheel gives the binaries the one they need (to the libraries it copies in).
set(CMAKE_SKIP_RPATH ON CACHE BOOL "No RPATH in the portable wheels")
