/* Mbed OS umbrella header for vboard: netsocket, events, the rtos subset and
 * platform bits, with Mbed's global using-directives. */
#ifndef MBED_H
#define MBED_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <chrono>

#include "Callback.h"
#include "mbed_events.h"
#include "nsapi.h"
#include "rtos.h"

#define MBED_MAJOR_VERSION 6
#define MBED_MINOR_VERSION 17
#define MBED_PATCH_VERSION 0

#if !defined(MBED_NO_GLOBAL_USING_DIRECTIVE)
using namespace mbed;
using namespace std::chrono_literals;
#endif

#endif
