/* rules/rules.c — the rule kinds, in the order a close runs them; the ledger lists their line
 * kinds in the same order (SPEC 6: cpa, cpa_over_cap, cpa_clawback, revshare,
 * carryover_expired, then acre's volume_bonus, then sub_affiliate). */
#include "acre/sys/rule.h"

extern const acre_rule_kind acre_rule_qualification, acre_rule_cpa, acre_rule_carryover,
    acre_rule_revshare, acre_rule_volume_bonus, acre_rule_sub_affiliate;

const acre_rule_kind *const acre_rule_kinds[] = {
    &acre_rule_qualification, /* who qualifies at this close */
    &acre_rule_cpa,           /* pay them; claw back those who no longer qualify */
    &acre_rule_revshare,      /* expire unusable deficits, the basis, carryover, the share */
    &acre_rule_carryover,     /* expire the deficits of affiliates without revshare */
    &acre_rule_volume_bonus,  /* a bonus for the month's qualified_count */
    &acre_rule_sub_affiliate, /* phase 2: a share of descendants' lines */
    NULL};
