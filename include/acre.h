/* acre.h — the Affiliate Commission & Revenue-share Engine. The one header a user includes. */
#ifndef ACRE_H
#define ACRE_H

#include "acre/audit.h"
#include "acre/clients.h"
#include "acre/close.h"
#include "acre/decimal.h"
#include "acre/error.h"
#include "acre/events.h"
#include "acre/ingest.h"
#include "acre/ledger.h"
#include "acre/plan.h"
#include "acre/records.h"
#include "acre/simulate.h"
#include "acre/store.h"
#include "acre/verify.h"
#include "acre/version.h"

#endif
