# pgcdc_find_dependencies(): finds the libraries pgcdc links and fails once, naming every
# missing one with the Debian 12 package that provides it and the CMake variable that
# points at a copy elsewhere.
macro(pgcdc_find_dependency name debian hint)
  find_package(${name} ${ARGN} QUIET)
  if(NOT ${name}_FOUND)
    list(APPEND PGCDC_MISSING "  ${name}: apt-get install ${debian} (or set ${hint})")
  endif()
endmacro()

macro(pgcdc_find_dependencies)
  set(PGCDC_MISSING "")
  pgcdc_find_dependency(absl libabsl-dev absl_DIR CONFIG)
  pgcdc_find_dependency(Protobuf "libprotobuf-dev protobuf-compiler" Protobuf_ROOT)
  pgcdc_find_dependency(PostgreSQL libpq-dev PostgreSQL_ROOT)
  pgcdc_find_dependency(spdlog libspdlog-dev spdlog_DIR CONFIG)
  pgcdc_find_dependency(fmt libfmt-dev fmt_DIR CONFIG)
  find_package(Threads REQUIRED)
  if(PGCDC_MISSING)
    list(JOIN PGCDC_MISSING "\n" PGCDC_MISSING_TEXT)
    message(FATAL_ERROR "pgcdc cannot be built: these libraries were not found:\n"
                        "${PGCDC_MISSING_TEXT}\n"
                        "On Debian 12, scripts/setup.sh installs all of them.")
  endif()
endmacro()
