/* Mbed OS rtos umbrella header (single-threaded subset). */
#ifndef MBED_RTOS_H
#define MBED_RTOS_H
#include "EventFlags.h"
#include "ThisThread.h"
#include "mbed_rtos_types.h"
#if !defined(MBED_NO_GLOBAL_USING_DIRECTIVE)
using namespace rtos;
#endif
#endif
