// Umbrella header of the pgcdc public API. The protobuf record (Change::ToProto()) is
// not included, so that code that does not use it compiles without protobuf's headers:
// include "pgcdc/v1/change.pb.h" where it is used.
#ifndef PGCDC_PGCDC_H_
#define PGCDC_PGCDC_H_

#include "pgcdc/change.h"
#include "pgcdc/change_stream.h"
#include "pgcdc/checkpoint.h"
#include "pgcdc/debezium.h"
#include "pgcdc/logging.h"
#include "pgcdc/lsn.h"
#include "pgcdc/option_table.h"
#include "pgcdc/options.h"
#include "pgcdc/snapshot.h"
#include "pgcdc/stats.h"
#include "pgcdc/status.h"
#include "pgcdc/version.h"

#endif  // PGCDC_PGCDC_H_
