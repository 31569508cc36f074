#ifndef PGCDC_TOOLS_COMMANDS_H_
#define PGCDC_TOOLS_COMMANDS_H_

namespace pgcdc::cli {

// Each returns the process exit code; argv excludes the subcommand name.
int RunStream(int argc, char** argv);
int RunCheck(int argc, char** argv);
int RunDemo(int argc, char** argv);

}  // namespace pgcdc::cli

#endif  // PGCDC_TOOLS_COMMANDS_H_
