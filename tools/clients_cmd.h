/* tools/clients_cmd.h — `acre clients` (tools/clients_cmd.c). */
#ifndef ACRE_TOOLS_CLIENTS_CMD_H
#define ACRE_TOOLS_CLIENTS_CMD_H

/* Runs `acre clients` with the store `db`, the positional arguments pos[0..npos) ("clients",
 * then add NAME, list, or revoke ID) and the words of --scope; returns the exit status. */
int clients_command(const char *db, int npos, const char *const *pos, const char *const *scopes,
                    int nscopes);

#endif
