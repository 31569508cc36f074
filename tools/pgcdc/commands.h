#ifndef PGCDC_TOOLS_COMMANDS_H_
#define PGCDC_TOOLS_COMMANDS_H_

namespace pgcdc::cli {

// The whole command line: argv[0] is the program, argv[1] the subcommand.
int Main(int argc, char** argv);

// Each returns the process exit code; argv excludes the subcommand name.
int RunStream(int argc, char** argv);
int RunCheck(int argc, char** argv);
int RunDemo(int argc, char** argv);

}  // namespace pgcdc::cli

#endif  // PGCDC_TOOLS_COMMANDS_H_
