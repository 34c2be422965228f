/* engine/iso.h — is a code in the ISO table? (internal) */
#ifndef ACRE_ENGINE_ISO_H
#define ACRE_ENGINE_ISO_H

/* Each returns 1 when `code` is in the table, as the standard writes it (currencies and
 * countries upper case, languages lower case), else 0. */
int acre_iso_currency(const char *code);
int acre_iso_country(const char *code);
int acre_iso_language(const char *code);

#endif
