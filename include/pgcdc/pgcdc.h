// Umbrella header of the pgcdc public API.
#ifndef PGCDC_PGCDC_H_
#define PGCDC_PGCDC_H_

#include "pgcdc/change.h"
#include "pgcdc/change_stream.h"
#include "pgcdc/checkpoint.h"
#include "pgcdc/logging.h"
#include "pgcdc/lsn.h"
#include "pgcdc/options.h"
#include "pgcdc/stats.h"
#include "pgcdc/status.h"
#include "pgcdc/v1/change.pb.h"  // Change::ToProto()
#include "pgcdc/version.h"

#endif  // PGCDC_PGCDC_H_
