/* engine/chart.h — what the statement's and the simulation's charts share (engine/chart.c;
 * internal): text made safe inside HTML and SVG, and a value's bar in whole pixels. */
#ifndef ACRE_ENGINE_CHART_H
#define ACRE_ENGINE_CHART_H

#include <stdio.h>

#include "acre/decimal.h"

/* Writes s as the text of an HTML or SVG element or attribute: < > & " ' escaped, and each
 * control character a space (XML allows none, and a line break in a name would start a line). */
void acre_markup_text(FILE *out, const char *s);

/* The height in pixels of the bar of |v| in a plot whose values span `span` (> 0) over `px`
 * pixels: |v| * px / span exactly, rounded half-even; 0 when span is not above 0. Sets *oom
 * when an allocation failed. No floating point. */
long acre_chart_px(const acre_dec *v, const acre_dec *span, long px, int *oom);

#endif
