/* A minimal case runner shared by the conformance apps (netsocket_tests,
 * wifi_tests): each case is a bool function; CHECK() fails it with a reason,
 * run() prints "PASS <name>" or "FAIL <name>: <reason>" and counts. */
#ifndef APPS_TESTCASE_H
#define APPS_TESTCASE_H

#include <stdio.h>

static int passed, failed;
static char why[96];

#define CHECK(cond, ...)                                                                                               \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            snprintf(why, sizeof why, __VA_ARGS__);                                                                    \
            return false;                                                                                              \
        }                                                                                                              \
    } while (0)

static void run(const char *name, bool (*fn)())
{
    why[0] = '\0';
    bool ok = fn();
    if (ok) {
        passed++;
        printf("PASS %s\n", name);
    } else {
        failed++;
        printf("FAIL %s: %s\n", name, why);
    }
}

#endif
