/* tools/finance_cmd.h — finance's month-end outputs of a closed period: `acre payouts` and
 * `acre statement` (tools/finance_cmd.c). */
#ifndef ACRE_TOOLS_FINANCE_CMD_H
#define ACRE_TOOLS_FINANCE_CMD_H

#include "args.h"

/* `acre payouts PERIOD [--format csv|json] [--affiliate ID]`: returns the exit status. */
int cmd_payouts(const args *a);

/* `acre statement PERIOD --affiliate ID [--format html|text]`: returns the exit status. */
int cmd_statement(const args *a);

#endif
