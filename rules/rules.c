/* rules/rules.c — the rule kinds, in the order a close runs them. */
#include "acre/sys/rule.h"

extern const acre_rule_kind acre_rule_qualification, acre_rule_cpa, acre_rule_carryover,
    acre_rule_revshare, acre_rule_sub_affiliate;

const acre_rule_kind *const acre_rule_kinds[] = {
    &acre_rule_qualification, /* who qualifies at this close */
    &acre_rule_cpa,           /* pay them; claw back those who no longer qualify */
    &acre_rule_carryover,     /* expire deficits that can no longer be used */
    &acre_rule_revshare,      /* the basis, carryover applied, and the share */
    &acre_rule_sub_affiliate, /* phase 2: a share of descendants' lines */
    NULL};
