// Status propagation helpers. abseil 20220623 (Debian 12) has no
// ABSL_RETURN_IF_ERROR / ABSL_ASSIGN_OR_RETURN; swap these for them once it does.
#ifndef PGCDC_INTERNAL_STATUS_MACROS_H_
#define PGCDC_INTERNAL_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define PGCDC_RETURN_IF_ERROR(expr)                                           \
  do {                                                                        \
    if (::absl::Status _pgcdc_st = (expr); !_pgcdc_st.ok()) return _pgcdc_st; \
  } while (false)

#define PGCDC_CONCAT_INNER(a, b) a##b
#define PGCDC_CONCAT(a, b) PGCDC_CONCAT_INNER(a, b)

// Expands to several statements: never use it as the body of an unbraced `if`.
#define PGCDC_ASSIGN_OR_RETURN(lhs, rexpr) \
  PGCDC_ASSIGN_OR_RETURN_IMPL(PGCDC_CONCAT(_pgcdc_sor_, __COUNTER__), lhs, rexpr)
#define PGCDC_ASSIGN_OR_RETURN_IMPL(sor, lhs, rexpr) \
  auto sor = (rexpr);                                \
  if (!sor.ok()) return std::move(sor).status();     \
  lhs = *std::move(sor)

#endif  // PGCDC_INTERNAL_STATUS_MACROS_H_
