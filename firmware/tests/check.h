/* One line per check of a test program: "<what> ok" or "<what> FAIL";
 * check_failures counts the failures for main's exit code. */
#ifndef CHECK_H
#define CHECK_H
#include <stdio.h>

static int check_failures;

static inline void result(const char *what, int ok)
{
    printf("%s %s\n", what, ok ? "ok" : "FAIL");
    if (!ok) {
        check_failures++;
    }
}
#endif
