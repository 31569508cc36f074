// Every status code the library can return is in the contract that include/pgcdc/
// status.h documents (and that Python maps to its exceptions: test_errors.py).
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "gtest/gtest.h"

namespace {

std::string Read(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(StatusCodesTest, EveryCodeTheLibraryReturnsIsDocumented) {
  const std::string contract = Read(PGCDC_SOURCE_DIR "/include/pgcdc/status.h");
  const std::regex made(R"(absl::(\w+)Error\()");
  std::set<std::string> codes;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(PGCDC_SOURCE_DIR "/src")) {
    if (entry.path().extension() != ".cc" && entry.path().extension() != ".h") continue;
    const std::string text = Read(entry.path());
    for (std::sregex_iterator it(text.begin(), text.end(), made), end; it != end; ++it) {
      codes.insert((*it)[1].str());
    }
  }
  EXPECT_GE(codes.size(), 10u);  // the scan found the library's statuses
  for (const std::string& code : codes) {
    EXPECT_NE(contract.find("//   k" + code + " "), std::string::npos)
        << "absl::" << code << "Error is returned under src/ but not documented in status.h";
  }
}

}  // namespace
