// One version everywhere: the macros of include/pgcdc/version.h agree with each other and
// with the CMake project version read from them (pyproject.toml reads the same line).
#include "pgcdc/version.h"

#include <gtest/gtest.h>

#include <string>

namespace {

TEST(VersionTest, MacrosAndProjectVersionAgree) {
  const std::string parts = std::to_string(PGCDC_VERSION_MAJOR) + "." +
                            std::to_string(PGCDC_VERSION_MINOR) + "." +
                            std::to_string(PGCDC_VERSION_PATCH);
  EXPECT_EQ(parts, PGCDC_VERSION_STRING);
  EXPECT_EQ(std::string(PGCDC_PROJECT_VERSION), PGCDC_VERSION_STRING);
}

}  // namespace
