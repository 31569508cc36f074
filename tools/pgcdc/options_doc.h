#ifndef PGCDC_TOOLS_OPTIONS_DOC_H_
#define PGCDC_TOOLS_OPTIONS_DOC_H_

#include <string>

namespace pgcdc::cli {

// doc/options.md, generated from pgcdc::StreamOptionTable(): every stream option under
// its C++, Python and CLI names, with its type per layer, default and help. A unit
// test fails when the file in the repository differs (and rewrites it on request).
std::string OptionsMarkdown();

}  // namespace pgcdc::cli

#endif  // PGCDC_TOOLS_OPTIONS_DOC_H_
