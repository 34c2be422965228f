/* tools/copy_cmd.h — `acre copy` (tools/copy_cmd.c). */
#ifndef ACRE_TOOLS_COPY_CMD_H
#define ACRE_TOOLS_COPY_CMD_H

#include "args.h"

/* `acre copy --from SRC --to DEST`: the store SRC copied into the new store DEST, each an SQLite
 * file or a postgresql:// database (acre_store_copy). */
int cmd_copy(const args *a);

#endif
