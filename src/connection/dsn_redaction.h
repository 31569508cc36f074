// Keeps passwords out of error text. libpq quotes parts of a DSN it cannot parse
// ("invalid percent-encoded token: \"Sup3r%Secret\""), and errors end up in logs,
// exceptions and Lambda output, so everything libpq says about a DSN goes through here.
#ifndef PGCDC_CONNECTION_DSN_REDACTION_H_
#define PGCDC_CONNECTION_DSN_REDACTION_H_

#include <string>
#include <string_view>
#include <vector>

namespace pgcdc::internal {

// Every string in `dsn` that is, or may be, a password: the URI's user info after
// its ':' (as written and percent-decoded), and each password= value (key=value
// form or URI query), quoted or not. Works on DSNs libpq rejects, too.
std::vector<std::string> PasswordCandidates(std::string_view dsn);

// `message` with every password candidate of `dsn` replaced by "********". When
// `dsn_rejected` (libpq could not parse it, so the candidates may be incomplete) and
// `dsn` holds any password at all, every double-quoted fragment of `message` (libpq
// quotes the pieces it complains about) is replaced as well.
std::string RedactPasswords(std::string_view dsn, std::string_view message,
                            bool dsn_rejected = false);

}  // namespace pgcdc::internal

#endif  // PGCDC_CONNECTION_DSN_REDACTION_H_
