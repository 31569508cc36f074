#include "cli.h"

#include <pybind11/stl.h>

#include <cstdio>
#include <string>
#include <vector>

#include "commands.h"

namespace py = pybind11;

namespace pgcdc::python {

// The package's `pgcdc` command (pgcdc/_cli.py) runs the C++ command line here rather
// than shipping it as a separate executable: one binary for auditwheel to repair, and the
// command loads the same bundled libraries as `import pgcdc`.
void RegisterCli(py::module_& m) {
  m.def(
      "_run_cli",
      [](std::vector<std::string> args) {
        std::vector<char*> argv;
        for (std::string& arg : args) argv.push_back(arg.data());
        argv.push_back(nullptr);
        py::gil_scoped_release release;
        const int status = cli::Main(static_cast<int>(args.size()), argv.data());
        std::fflush(stdout);
        std::fflush(stderr);
        return status;
      },
      "Runs the pgcdc command line (argv[0] is the program) and returns its exit status.");
}

}  // namespace pgcdc::python
