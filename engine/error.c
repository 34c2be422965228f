/* engine/error.c — filling an acre_error. */
#include "acre/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "jsonval.h"

void acre_error_clear(acre_error *err)
{
    if (!err)
        return;
    memset(err, 0, sizeof *err);
    err->index = -1;
}

int acre_error_set(acre_error *err, int code, const char *field, const char *rule,
                   const char *fmt, ...)
{
    va_list ap;

    if (!err)
        return code;
    err->code = code;
    snprintf(err->field, sizeof err->field, "%s", field ? field : "");
    snprintf(err->rule, sizeof err->rule, "%s", rule ? rule : "");
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    acre_utf8_trim(err->field);
    acre_utf8_trim(err->message);
    return code;
}
