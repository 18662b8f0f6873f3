/* policy/policy_rules.h: the `ip rule`s that route a slice's packets by its
 * table (docs/design.md §1), as pure functions of a policy: decision trees
 * of `goto` rules, so a route lookup walks a number of rules that grows with
 * the logarithm of the number of slices, not with it (issue 17). No I/O;
 * uoad/guard.c diffs the plan against the kernel's rules and applies it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/addr.h"
#include "policy/policy.h"

/* The prefs the plan uses, in each family's rule list: everything below
 * 32766 (the main table's rule) from POLICY_RULES_PREF_MIN on. */
#define POLICY_RULES_PREF_MIN 1000u
#define POLICY_RULES_PREF_MAX 32765u
#define POLICY_RULES_TABLE_MAIN 254u

typedef enum policy_rule_action {
        POLICY_RULE_TABLE, /* lookup `table` (FR_ACT_TO_TBL) */
        POLICY_RULE_GOTO,  /* goto `target` (FR_ACT_GOTO) */
} policy_rule_action;

/* One rule. Its selectors all have to match: uid in uid_lo..uid_hi (when
 * has_uid), the source in src/src_len (when src.family), the source port in
 * sport_lo..sport_hi (when sport_hi). */
typedef struct policy_rule {
        int family;
        uint32_t pref;
        policy_rule_action action;
        uint32_t table;  /* TABLE: the table; GOTO: 0 */
        uint32_t target; /* GOTO: the pref it jumps to; TABLE: 0 */
        bool has_uid;
        uid_t uid_lo, uid_hi;
        uoa_addr src;    /* family 0: any source; the bits past src_len are 0 */
        uint8_t src_len;
        uint16_t sport_lo, sport_hi;
} policy_rule;

typedef struct policy_rules {
        policy_rule *v;
        size_t n, cap;
} policy_rules;

/* Append p's rules of family (AF_INET, AF_INET6) to *ret: what sends a
 * slice's packets to its table, by source address (and port, on a shared
 * address) and, for a lookup without a source yet, by uid. Slices without a
 * table have none, and a slice has none of a family it has no address of.
 * have (NULL: none): the rules in force (ours, any order, any family); the
 * plan keeps their trie where it can, so a change of a few slices changes
 * a few rules. Returns 0 or -ENOMEM. */
int policy_plan_rules(const policy *p, int family, const policy_rules *have, policy_rules *ret);

/* A total order on rules, field by field; 0: the same rule. */
int policy_rule_cmp(const policy_rule *a, const policy_rule *b);
